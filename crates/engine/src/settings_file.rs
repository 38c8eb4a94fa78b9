//! Writing entries into a local settings file without losing what is there. A YAML file is edited
//! as text, so its comments, order and style stay as the user wrote them: an entry goes at the end
//! of its section (`actions:` or `rules:`), replacing a one-line entry of the same key, and a
//! missing section is added at the end. A JSON file is rewritten with the entries added. Either way
//! the result is read back and checked to hold exactly the old file plus the entries before it
//! replaces the file; what cannot be done that way is an error that names the file and the reason,
//! and the file is left as it was.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::settings::{LocalSettings, SettingsError};

/// One entry to write: `section` is `actions` or `rules`, `key` is `Stage/Name`.
#[derive(Clone, Debug)]
pub struct Entry {
    pub section: &'static str,
    pub key: String,
    pub value: Value,
}

impl Entry {
    /// An entry for `settings`, with its `path` and `buildspec` written relative to `dir` (the
    /// settings file's folder), so the file can move with the repository it sits in.
    pub fn new(section: &'static str, key: &str, settings: &impl Serialize, dir: &Path) -> Entry {
        let mut value = serde_json::to_value(settings).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut value {
            for field in ["path", "buildspec"] {
                if let Some(Value::String(path)) = map.get_mut(field) {
                    *path = relative(dir, Path::new(path)).display().to_string();
                }
            }
        }
        Entry {
            section,
            key: key.to_owned(),
            value,
        }
    }
}

/// Writes `entries` into the settings file `file` (created when absent). `header` opens a new file.
pub fn write_entries(file: &Path, entries: &[Entry], header: &str) -> Result<(), SettingsError> {
    let error = |message: String| SettingsError {
        file: file.display().to_string(),
        message,
    };
    let old = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(error(format!("cannot read it: {e}"))),
    };
    let is_json = old.trim_start().starts_with('{');
    let before = read_value(&old, is_json).map_err(&error)?;
    let new = if is_json {
        json_with(&before, entries)
    } else if old.trim().is_empty() {
        yaml_with(&format!("{header}\n"), entries)
    } else {
        yaml_with(&old, entries)
    }
    .map_err(&error)?;
    // Read back: the new file must hold the old one plus the entries, and be valid settings.
    let mut expected = before;
    for entry in entries {
        insert(&mut expected, entry);
    }
    let after = read_value(&new, is_json).map_err(&error)?;
    if after != expected {
        return Err(error(
            "the entries could not be added without changing what is there; add them by hand"
                .to_owned(),
        ));
    }
    let dir = file.parent().unwrap_or(Path::new("."));
    LocalSettings::parse(&new, &file.display().to_string(), dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| error(format!("cannot write beside it: {e}")))?;
    std::io::Write::write_all(&mut temp, new.as_bytes())
        .map_err(|e| error(format!("cannot write: {e}")))?;
    temp.persist(file)
        .map_err(|e| error(format!("cannot replace it: {}", e.error)))?;
    Ok(())
}

fn read_value(text: &str, is_json: bool) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let value: Value = if is_json {
        serde_json::from_str(text).map_err(|e| e.to_string())?
    } else {
        serde_saphyr::from_str(text).map_err(|e| e.to_string())?
    };
    match value {
        Value::Null => Ok(Value::Object(Default::default())),
        Value::Object(_) => Ok(value),
        _ => Err("it is not a mapping of settings".to_owned()),
    }
}

fn insert(settings: &mut Value, entry: &Entry) {
    if let Value::Object(map) = settings {
        let section = map
            .entry(entry.section)
            .or_insert_with(|| Value::Object(Default::default()));
        if section.is_null() {
            *section = Value::Object(Default::default());
        }
        if let Value::Object(section) = section {
            section.insert(entry.key.clone(), entry.value.clone());
        }
    }
}

fn json_with(before: &Value, entries: &[Entry]) -> Result<String, String> {
    let mut value = before.clone();
    for entry in entries {
        insert(&mut value, entry);
    }
    serde_json::to_string_pretty(&value)
        .map(|text| text + "\n")
        .map_err(|e| e.to_string())
}

/// A string as YAML reads it back: plain when it is an ordinary name or path that YAML cannot
/// take for anything else, else quoted (a JSON string is a YAML double-quoted one).
fn yaml_string(text: &str) -> String {
    let ordinary = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '_' | '-' | '/'))
        && !text.starts_with(['-', '@'])
        && !text.starts_with(|c: char| c.is_ascii_digit())
        && !matches!(
            text.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | ".inf" | ".nan"
        );
    if ordinary {
        text.to_owned()
    } else {
        Value::String(text.to_owned()).to_string()
    }
}

/// A value in YAML's flow style, as a person would write it: `{path: .., workingCopy: true}`.
fn yaml_flow(value: &Value) -> String {
    match value {
        Value::String(text) => yaml_string(text),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(yaml_flow).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(key, value)| format!("{}: {}", yaml_string(key), yaml_flow(value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// One entry on one line (read back before the file is replaced, so a value YAML would read
/// otherwise is caught).
fn yaml_line(indent: &str, entry: &Entry) -> String {
    format!(
        "{indent}{}: {}",
        yaml_string(&entry.key),
        yaml_flow(&entry.value)
    )
}

fn is_top_level(line: &str) -> bool {
    !line.is_empty() && !line.starts_with([' ', '\t', '#'])
}

fn yaml_with(text: &str, entries: &[Entry]) -> Result<String, String> {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for section in ["actions", "rules"] {
        let mine: Vec<&Entry> = entries.iter().filter(|e| e.section == section).collect();
        if mine.is_empty() {
            continue;
        }
        let opener = format!("{section}:");
        let start = lines.iter().position(|line| {
            line.strip_prefix(&opener)
                .is_some_and(|rest| rest.trim().is_empty() || rest.trim_start().starts_with('#'))
        });
        let start = match start {
            Some(start) => start,
            None => {
                if let Some(flow) = lines.iter().position(|l| l.starts_with(&opener)) {
                    if lines[flow][opener.len()..].trim() != "{}" {
                        return Err(format!(
                            "its {section}: is written on one line; write it as one entry per line to let Pipewright add to it"
                        ));
                    }
                    lines[flow] = opener.clone();
                    flow
                } else {
                    while lines.last().is_some_and(|l| l.trim().is_empty()) {
                        lines.pop();
                    }
                    lines.push(opener.clone());
                    lines.len() - 1
                }
            }
        };
        let end = lines[start + 1..]
            .iter()
            .position(|line| is_top_level(line))
            .map_or(lines.len(), |offset| start + 1 + offset);
        let indent = lines[start + 1..end]
            .iter()
            .find(|line| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
            .map(|line| line[..line.len() - line.trim_start().len()].to_owned())
            .unwrap_or_else(|| "  ".to_owned());
        let mut insert_at = end;
        while insert_at > start + 1 && lines[insert_at - 1].trim().is_empty() {
            insert_at -= 1;
        }
        for entry in mine {
            let prefix = format!("{indent}{}:", yaml_string(&entry.key));
            let existing = (start + 1..insert_at).find(|&i| lines[i].starts_with(&prefix));
            match existing {
                Some(i) => {
                    let continued =
                        lines
                            .get(i + 1)
                            .filter(|_| i + 1 < insert_at)
                            .is_some_and(|next| {
                                next.len() - next.trim_start().len() > indent.len()
                                    && !next.trim().is_empty()
                            });
                    if continued {
                        return Err(format!(
                            "its entry for {} spans several lines; change it by hand",
                            entry.key
                        ));
                    }
                    lines[i] = yaml_line(&indent, entry);
                }
                None => {
                    lines.insert(insert_at, yaml_line(&indent, entry));
                    insert_at += 1;
                }
            }
        }
    }
    Ok(lines.join("\n") + "\n")
}

/// `target` as seen from the folder `base`: `.`, `sub/dir` or `../other`. Both are taken as
/// absolute. A target more than two levels up (the data directory, another user's tree) is kept
/// absolute: such a path does not move with the repository the settings sit in.
pub fn relative(base: &Path, target: &Path) -> PathBuf {
    let base: Vec<Component> = base.components().collect();
    let target_parts: Vec<Component> = target.components().collect();
    let common = base
        .iter()
        .zip(&target_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if !target.is_absolute() || common <= 1 || base.len() - common > 2 {
        return target.to_path_buf();
    }
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for part in &target_parts[common..] {
        out.push(part);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(section: &'static str, key: &str, value: Value) -> Entry {
        Entry {
            section,
            key: key.to_owned(),
            value,
        }
    }

    #[test]
    fn paths_are_written_relative_to_the_settings_folder() {
        assert_eq!(
            relative(Path::new("/home/me/app"), Path::new("/home/me/app")),
            PathBuf::from(".")
        );
        assert_eq!(
            relative(Path::new("/home/me/app/ci"), Path::new("/home/me/app")),
            PathBuf::from("..")
        );
        assert_eq!(
            relative(Path::new("/home/me/app"), Path::new("/home/me/tools/x")),
            PathBuf::from("../tools/x")
        );
        assert_eq!(
            relative(Path::new("/home/me"), Path::new("/srv/repo")),
            PathBuf::from("/srv/repo")
        );
        assert_eq!(
            relative(
                Path::new("/home/me/src/app/ci"),
                Path::new("/home/me/.local/share/pipewright/deploys")
            ),
            PathBuf::from("/home/me/.local/share/pipewright/deploys")
        );
    }

    #[test]
    fn entries_join_their_section_and_keep_comments_and_the_rest() {
        let text = "# mine\nactions:\n    Build/Compile: {image: localhost/build}   # the image\n\nenvironment:\n  privileged: false\n";
        let out = yaml_with(
            text,
            &[
                entry("actions", "Source/App", serde_json::json!({"path": "."})),
                entry(
                    "rules",
                    "Prod/Alarm",
                    serde_json::json!({"outcome": "succeeded"}),
                ),
            ],
        )
        .expect("edits");
        assert_eq!(
            out,
            "# mine\nactions:\n    Build/Compile: {image: localhost/build}   # the image\n    Source/App: {path: .}\n\nenvironment:\n  privileged: false\nrules:\n  Prod/Alarm: {outcome: succeeded}\n"
        );
    }

    #[test]
    fn values_yaml_would_read_as_something_else_are_quoted() {
        let value = serde_json::json!({"path": "my dir", "outputVariables": {"Port": "8080", "On": "yes", "Url": "https://x/y"}, "simulate": true});
        assert_eq!(
            yaml_flow(&value),
            r#"{path: "my dir", outputVariables: {Port: "8080", "On": "yes", Url: "https://x/y"}, simulate: true}"#
        );
    }

    #[test]
    fn a_one_line_entry_is_replaced_and_a_longer_one_refused() {
        let out = yaml_with(
            "actions:\n  Source/App: {path: old}\n",
            &[entry(
                "actions",
                "Source/App",
                serde_json::json!({"path": "new"}),
            )],
        )
        .expect("edits");
        assert_eq!(out, "actions:\n  Source/App: {path: new}\n");
        let refused = yaml_with(
            "actions:\n  Source/App:\n    path: old\n",
            &[entry(
                "actions",
                "Source/App",
                serde_json::json!({"path": "new"}),
            )],
        );
        assert!(refused.is_err());
        let flow = yaml_with(
            "actions: {Source/App: {path: old}}\n",
            &[entry(
                "actions",
                "Build/X",
                serde_json::json!({"simulate": true}),
            )],
        );
        assert!(flow.is_err());
    }

    #[test]
    fn a_file_is_written_and_read_back_with_nothing_lost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("p.pipewright.yaml");
        std::fs::write(&file, "# keep me\nactions:\n  Build/X: {simulate: true}\n").expect("write");
        write_entries(
            &file,
            &[entry(
                "actions",
                "Source/App",
                serde_json::json!({"path": ".", "workingCopy": true}),
            )],
            "# header",
        )
        .expect("written");
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(text.starts_with("# keep me\n"), "{text}");
        let settings = LocalSettings::parse(&text, "p", dir.path()).expect("valid");
        assert!(settings.action("Build", "X").is_some_and(|a| a.simulate));
        assert!(
            settings
                .action("Source", "App")
                .is_some_and(|a| a.working_copy)
        );

        let json = dir.path().join("q.pipewright.json");
        std::fs::write(&json, "{\"aws\": {\"region\": \"eu-west-1\"}}").expect("write");
        write_entries(
            &json,
            &[entry(
                "actions",
                "Deploy/Stack",
                serde_json::json!({"simulate": true}),
            )],
            "",
        )
        .expect("written");
        let value: Value =
            serde_json::from_str(&std::fs::read_to_string(&json).expect("read")).expect("json");
        assert_eq!(value["aws"]["region"], "eu-west-1");
        assert_eq!(value["actions"]["Deploy/Stack"]["simulate"], true);
    }

    #[test]
    fn a_file_that_cannot_be_extended_is_left_as_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("p.pipewright.yaml");
        let text = "actions: {Build/X: {simulate: true}}\n";
        std::fs::write(&file, text).expect("write");
        let error = write_entries(
            &file,
            &[entry(
                "actions",
                "Source/App",
                serde_json::json!({"path": "."}),
            )],
            "",
        )
        .expect_err("refused");
        assert!(error.to_string().contains("one line"), "{error}");
        assert_eq!(std::fs::read_to_string(&file).expect("read"), text);
    }
}
