//! EventBridge event patterns, matched as EventBridge matches them, for local rules that run a
//! command or call a webhook when an event matches (`pipewright on-events`).
//!
//! A pattern is an object whose fields name fields of the event: an object matches the nested
//! object, a list matches when the event's value (or any of its values, for a list) matches any of
//! its items. An item is a value to equal, or a matcher: `prefix`, `suffix`, `equals-ignore-case`,
//! `wildcard`, `anything-but` (a value, a list, or a `prefix`/`suffix`), `numeric` (comparisons
//! such as `[">", 0, "<=", 5]`) and `exists`.

use serde_json::{Map, Value};

/// Whether `event` matches `pattern`. A pattern [`check`] refuses matches nothing.
pub fn matches(pattern: &Value, event: &Value) -> bool {
    match pattern {
        Value::Object(fields) => fields
            .iter()
            .all(|(key, wanted)| field_matches(wanted, event.get(key))),
        _ => false,
    }
}

fn field_matches(wanted: &Value, value: Option<&Value>) -> bool {
    match wanted {
        Value::Object(_) => value.is_some_and(|v| v.is_object() && matches(wanted, v)),
        Value::Array(items) => match value {
            // A field the event lacks matches only `{"exists": false}` (or `anything-but`, which
            // EventBridge does not match on a missing field: neither do we).
            None => items
                .iter()
                .any(|item| item.get("exists") == Some(&Value::Bool(false))),
            Some(Value::Array(values)) => values
                .iter()
                .any(|v| items.iter().any(|item| item_matches(item, v))),
            Some(v) => items.iter().any(|item| item_matches(item, v)),
        },
        _ => false,
    }
}

fn item_matches(item: &Value, value: &Value) -> bool {
    let Value::Object(matcher) = item else {
        return item == value;
    };
    let Some((kind, argument)) = matcher.iter().next() else {
        return false;
    };
    let text = value.as_str();
    match (kind.as_str(), argument) {
        ("exists", Value::Bool(exists)) => *exists,
        ("prefix", Value::String(p)) => text.is_some_and(|t| t.starts_with(p.as_str())),
        ("suffix", Value::String(s)) => text.is_some_and(|t| t.ends_with(s.as_str())),
        ("equals-ignore-case", Value::String(s)) => {
            text.is_some_and(|t| t.to_lowercase() == s.to_lowercase())
        }
        ("wildcard", Value::String(w)) => text.is_some_and(|t| wildcard(w, t)),
        ("anything-but", Value::Array(list)) => !list.contains(value),
        ("anything-but", Value::Object(inner)) => {
            !item_matches(&Value::Object(inner.clone()), value)
        }
        ("anything-but", other) => other != value,
        ("numeric", Value::Array(comparisons)) => {
            value.as_f64().is_some_and(|n| numeric(comparisons, n))
        }
        _ => false,
    }
}

/// `*` matches any run of characters; everything else itself.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

fn numeric(comparisons: &[Value], n: f64) -> bool {
    comparisons.chunks(2).all(|pair| match pair {
        [Value::String(op), bound] => bound.as_f64().is_some_and(|b| match op.as_str() {
            "=" => n == b,
            ">" => n > b,
            ">=" => n >= b,
            "<" => n < b,
            "<=" => n <= b,
            _ => false,
        }),
        _ => false,
    })
}

/// Says what is wrong with a pattern, and where (`/detail/state`), or nothing.
pub fn check(pattern: &Value) -> Result<(), String> {
    match pattern {
        Value::Object(fields) if !fields.is_empty() => check_fields(fields, ""),
        Value::Object(_) => Err("an empty pattern would match every event".to_owned()),
        _ => Err("a pattern is an object of fields".to_owned()),
    }
}

fn check_fields(fields: &Map<String, Value>, at: &str) -> Result<(), String> {
    for (key, wanted) in fields {
        let here = format!("{at}/{key}");
        match wanted {
            Value::Object(inner) => check_fields(inner, &here)?,
            Value::Array(items) if !items.is_empty() => {
                for item in items {
                    if let Value::Object(matcher) = item {
                        check_matcher(matcher, &here)?;
                    }
                }
            }
            _ => return Err(format!("{here}: a list of values or matchers was expected")),
        }
    }
    Ok(())
}

fn check_matcher(matcher: &Map<String, Value>, at: &str) -> Result<(), String> {
    let known = [
        "prefix",
        "suffix",
        "equals-ignore-case",
        "wildcard",
        "anything-but",
        "numeric",
        "exists",
    ];
    match matcher.iter().next() {
        Some((kind, _)) if matcher.len() == 1 && known.contains(&kind.as_str()) => Ok(()),
        _ => Err(format!(
            "{at}: a matcher has one of the keys {}",
            known.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event() -> Value {
        json!({
            "source": "aws.codepipeline",
            "detail-type": "CodePipeline Action Execution State Change",
            "resources": ["arn:aws:codepipeline:local:000000000000:web"],
            "detail": {"pipeline": "web-prod", "state": "FAILED", "stage": "Deploy", "version": 3,
                       "type": {"category": "Deploy", "provider": "S3"}}
        })
    }

    #[test]
    fn values_lists_and_nesting_match_as_in_eventbridge() {
        assert!(matches(
            &json!({"detail": {"state": ["FAILED", "STOPPED"]}}),
            &event()
        ));
        assert!(!matches(
            &json!({"detail": {"state": ["SUCCEEDED"]}}),
            &event()
        ));
        assert!(matches(
            &json!({"detail": {"type": {"category": ["Deploy"]}}}),
            &event()
        ));
        assert!(matches(
            &json!({"resources": ["arn:aws:codepipeline:local:000000000000:web"]}),
            &event()
        ));
        assert!(!matches(&json!({"detail": {"missing": ["x"]}}), &event()));
    }

    #[test]
    fn matchers_match_as_in_eventbridge() {
        let e = event();
        assert!(matches(
            &json!({"detail": {"pipeline": [{"prefix": "web-"}]}}),
            &e
        ));
        assert!(matches(
            &json!({"detail": {"pipeline": [{"suffix": "-prod"}]}}),
            &e
        ));
        assert!(matches(
            &json!({"detail": {"state": [{"equals-ignore-case": "failed"}]}}),
            &e
        ));
        assert!(matches(
            &json!({"detail": {"pipeline": [{"wildcard": "w*-p*d"}]}}),
            &e
        ));
        assert!(!matches(
            &json!({"detail": {"pipeline": [{"wildcard": "api-*"}]}}),
            &e
        ));
        assert!(matches(
            &json!({"detail": {"state": [{"anything-but": ["SUCCEEDED"]}]}}),
            &e
        ));
        assert!(!matches(
            &json!({"detail": {"state": [{"anything-but": "FAILED"}]}}),
            &e
        ));
        assert!(matches(
            &json!({"detail": {"stage": [{"anything-but": {"prefix": "Test"}}]}}),
            &e
        ));
        assert!(matches(
            &json!({"detail": {"version": [{"numeric": [">", 2, "<=", 3]}]}}),
            &e
        ));
        assert!(!matches(
            &json!({"detail": {"version": [{"numeric": [">", 3]}]}}),
            &e
        ));
        assert!(matches(
            &json!({"detail": {"action": [{"exists": false}]}}),
            &e
        ));
        assert!(!matches(
            &json!({"detail": {"stage": [{"exists": false}]}}),
            &e
        ));
        assert!(matches(
            &json!({"detail": {"stage": [{"exists": true}]}}),
            &e
        ));
    }

    #[test]
    fn a_bad_pattern_says_where() {
        assert!(check(&json!({"detail": {"state": ["FAILED"]}})).is_ok());
        assert_eq!(
            check(&json!({"detail": {"state": "FAILED"}})),
            Err("/detail/state: a list of values or matchers was expected".to_owned())
        );
        assert!(
            check(&json!({"detail": {"state": [{"startswith": "F"}]}}))
                .is_err_and(|e| e.starts_with("/detail/state: a matcher"))
        );
        assert!(check(&json!({})).is_err());
    }
}
