//! Where a JSON pointer is in a document's text.
//!
//! A declaration is read into types from a generic value, so a type error knows the JSON path of
//! the field but not where it is in the file. This walks the text once more with a YAML event
//! parser (JSON is YAML too, so one walk serves both formats) and returns the line and column at
//! which the node at that path starts. Only called for a document that already failed, so its
//! cost does not matter.

use serde_saphyr::granit_parser::{Event, Parser};

/// A container being walked: the path segment it sits at (none for the root) and where its next
/// child goes.
struct Frame {
    segment: Option<String>,
    next: Next,
}

enum Next {
    /// In a mapping: the key just read, or none when the next node is a key.
    Map(Option<String>),
    /// In a sequence: the index of the next item.
    Seq(usize),
}

/// The 1-based line and column where the node at `pointer` (`/stages/0/name`) starts, if the text
/// has one. Keys that are not plain scalars, and text the parser refuses, give none.
pub fn locate(text: &str, pointer: &str) -> Option<(u64, u64)> {
    let target: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut frames: Vec<Frame> = Vec::new();
    for parsed in Parser::new_from_str(text) {
        let (event, span) = parsed.ok()?;
        match event {
            Event::Scalar(..)
            | Event::Alias(..)
            | Event::MappingStart(..)
            | Event::SequenceStart(..) => {}
            Event::MappingEnd | Event::SequenceEnd => {
                frames.pop();
                finish_value(&mut frames);
                continue;
            }
            _ => continue,
        }
        if let Some(Frame {
            next: Next::Map(key @ None),
            ..
        }) = frames.last_mut()
        {
            let Event::Scalar(name, ..) = event else {
                return None;
            };
            *key = Some(name.into_owned());
            continue;
        }
        let segment = match frames.last() {
            None => None,
            Some(Frame {
                next: Next::Map(key),
                ..
            }) => key.clone(),
            Some(Frame {
                next: Next::Seq(index),
                ..
            }) => Some(index.to_string()),
        };
        let path = frames
            .iter()
            .filter_map(|f| f.segment.as_deref())
            .chain(segment.as_deref());
        if path.eq(target.iter().map(String::as_str)) {
            let start = span.start;
            return Some((start.line() as u64, start.col() as u64 + 1));
        }
        match event {
            Event::MappingStart(..) => frames.push(Frame {
                segment,
                next: Next::Map(None),
            }),
            Event::SequenceStart(..) => frames.push(Frame {
                segment,
                next: Next::Seq(0),
            }),
            _ => finish_value(&mut frames),
        }
    }
    None
}

/// A value in the innermost container is complete: a mapping waits for its next key, a sequence
/// moves to its next index.
fn finish_value(frames: &mut [Frame]) {
    match frames.last_mut().map(|f| &mut f.next) {
        Some(Next::Map(key)) => *key = None,
        Some(Next::Seq(index)) => *index += 1,
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 1-based line and column of the `nth` (0-based) `needle` in `text`.
    fn position(text: &str, needle: &str, nth: usize) -> Option<(u64, u64)> {
        let (offset, _) = text.match_indices(needle).nth(nth)?;
        let line = text[..offset].matches('\n').count() as u64 + 1;
        let column = (offset - text[..offset].rfind('\n').map_or(0, |n| n + 1)) as u64 + 1;
        Some((line, column))
    }

    const JSON: &str = r#"{
  "name": "p",
  "stages": [
    {"name": "Source", "actions": []},
    {
      "name": "Build",
      "actions": [{"name": "a/b", "runOrder": "two"}]
    }
  ]
}"#;

    #[test]
    fn finds_values_in_json() {
        assert_eq!(locate(JSON, "/name"), position(JSON, "\"p\"", 0));
        assert_eq!(
            locate(JSON, "/stages/1/name"),
            position(JSON, "\"Build\"", 0)
        );
        assert_eq!(
            locate(JSON, "/stages/1/actions/0/runOrder"),
            position(JSON, "\"two\"", 0)
        );
        assert_eq!(
            locate(JSON, "/stages/1/actions/0"),
            position(JSON, "{\"name\": \"a/b\"", 0)
        );
        assert_eq!(locate(JSON, "/stages/0/actions"), position(JSON, "[]", 0));
        assert_eq!(locate(JSON, ""), Some((1, 1)));
        assert_eq!(locate(JSON, "/stages/2"), None);
        assert_eq!(locate(JSON, "/missing"), None);
    }

    #[test]
    fn finds_values_in_yaml() {
        let yaml = "pipeline:\n  name: p\n  stages:\n    - name: Source\n      actions:\n        - name: A\n          runOrder: [1]\n";
        assert_eq!(
            locate(yaml, "/pipeline/stages/0/actions/0/runOrder"),
            position(yaml, "[1]", 0)
        );
        assert_eq!(
            locate(yaml, "/pipeline/stages/0/name"),
            position(yaml, "Source", 0)
        );
    }

    #[test]
    fn escaped_pointer_segments_match_their_keys() {
        let json = r#"{"a/b": {"c~d": 1}}"#;
        assert_eq!(locate(json, "/a~1b/c~0d"), position(json, "1", 0));
    }

    #[test]
    fn text_that_does_not_parse_has_no_location() {
        assert_eq!(locate("{\"a\": ", "/b"), None);
    }
}
