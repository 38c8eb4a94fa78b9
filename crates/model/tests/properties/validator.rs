//! The validator takes any declaration, says the same thing twice, and points at real places.

use pipewright_model::{Diagnostic, PipelineDeclaration, validate};
use proptest::prelude::*;
use serde_json::Value;

use crate::strategies::declaration;

fn is_kebab_case(code: &str) -> bool {
    !code.is_empty()
        && code.split('-').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// RFC 6901 syntax: empty, or `/`-separated tokens in which `~` is followed by `0` or `1`.
fn is_json_pointer(path: &str) -> bool {
    if path.is_empty() {
        return true;
    }
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    rest.split('/').all(|token| {
        let mut chars = token.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return false;
            }
        }
        true
    })
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The path resolves, or it names a key that is absent from an object that resolves (the
/// diagnostic is about a missing optional field such as `/roleArn` or `.../commands`).
fn resolves(document: &Value, path: &str) -> bool {
    if document.pointer(path).is_some() {
        return true;
    }
    let Some((parent, last)) = path.rsplit_once('/') else {
        return false;
    };
    match document.pointer(parent) {
        Some(Value::Object(map)) => !map.contains_key(&unescape(last)),
        _ => false,
    }
}

fn check(pipeline: &PipelineDeclaration) -> Result<Vec<Diagnostic>, TestCaseError> {
    let first = validate(pipeline);
    let second = validate(pipeline);
    prop_assert_eq!(&first, &second, "validate is not deterministic");
    prop_assert_eq!(&validate(&pipeline.clone()), &first);
    let document = serde_json::to_value(pipeline).expect("a declaration serialises");
    for diagnostic in &first {
        prop_assert!(is_kebab_case(diagnostic.code), "code {:?}", diagnostic.code);
        prop_assert!(
            is_json_pointer(&diagnostic.path),
            "{:?} is not a JSON pointer ({})",
            diagnostic.path,
            diagnostic.code
        );
        prop_assert!(
            resolves(&document, &diagnostic.path),
            "{:?} ({}) does not resolve in\n{}",
            diagnostic.path,
            diagnostic.code,
            serde_json::to_string_pretty(&document).unwrap_or_default()
        );
        prop_assert!(!diagnostic.message.is_empty());
    }
    Ok(first)
}

#[test]
fn pointer_helpers_agree_with_rfc_6901() {
    assert!(is_json_pointer(""));
    assert!(is_json_pointer("/a~0b/c~1d/0"));
    assert!(!is_json_pointer("a"));
    assert!(!is_json_pointer("/a~2"));
    assert!(!is_json_pointer("/a~"));
    let doc = serde_json::json!({"a/b": {"c~d": 1}, "s": [{"x": 1}]});
    assert!(resolves(&doc, "/a~1b/c~0d"));
    assert!(resolves(&doc, "/missing"));
    assert!(resolves(&doc, "/s/0/y"));
    assert!(!resolves(&doc, "/s/1"));
    assert!(!resolves(&doc, "/s/0/x/y"));
    assert!(!resolves(&doc, "/nothing/here"));
    assert!(is_kebab_case("requires-v2"));
    assert!(!is_kebab_case("Requires_V2"));
    assert!(!is_kebab_case("a--b"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Includes pipelines with no stages and stages with no actions.
    #[test]
    fn validator_is_total_and_deterministic(pipeline in declaration(0..=5, 0..=6)) {
        check(&pipeline)?;
    }

    /// Many actions in one stage, so run orders, artifacts and namespaces collide.
    #[test]
    fn crowded_stages_validate(pipeline in declaration(1..=2, 8..=12)) {
        check(&pipeline)?;
    }
}
