//! What a buildspec asks for that no local build carries out, found in the document as written.
//! A runner prints each before the build starts ("Not done locally: ..."), because a build that
//! quietly skips `reports:` or a misspelt `comands:` looks like it worked when it did not.
//!
//! What depends on where the build runs (parameter-store values, `run-as`, runtime versions) is
//! the runner's to say; this list holds what is the same everywhere.

use serde_json::Value;

/// One key the local build does not carry out: its JSON pointer and what that means here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotDoneLocally {
    pub path: String,
    pub note: String,
}

const TOP: &[&str] = &[
    "version",
    "run-as",
    "env",
    "phases",
    "artifacts",
    "batch",
    "reports",
    "cache",
];
const ENV: &[&str] = &[
    "shell",
    "variables",
    "parameter-store",
    "secrets-manager",
    "exported-variables",
    "git-credential-helper",
    "proxy",
];
const REPORT_GROUP: &[&str] = &["files", "base-directory", "discard-paths", "file-format"];
const CACHE: &[&str] = &["key", "fallback-keys", "action", "paths"];
const PHASES: &[&str] = &["install", "pre_build", "build", "post_build"];
const PHASE: &[&str] = &[
    "run-as",
    "on-failure",
    "runtime-versions",
    "commands",
    "finally",
];
const ARTIFACTS: &[&str] = &[
    "files",
    "name",
    "discard-paths",
    "base-directory",
    "exclude-paths",
    "enable-symlinks",
    "s3-prefix",
    "secondary-artifacts",
];

pub(super) fn find(document: &Value) -> Vec<NotDoneLocally> {
    let mut out = Vec::new();
    let Some(top) = document.as_object() else {
        return out;
    };
    unknown_keys(&mut out, "", top, TOP);
    if let Some(reports) = top.get("reports").and_then(Value::as_object) {
        for (group, value) in reports {
            if let Some(group_map) = value.as_object() {
                unknown_keys(
                    &mut out,
                    &format!("/reports/{group}"),
                    group_map,
                    REPORT_GROUP,
                );
            }
        }
    }
    if let Some(cache) = top.get("cache").and_then(Value::as_object) {
        unknown_keys(&mut out, "/cache", cache, CACHE);
    }
    if let Some(env) = top.get("env").and_then(Value::as_object) {
        unknown_keys(&mut out, "/env", env, ENV);
        if env.contains_key("proxy") {
            out.push(note(
                "/env/proxy",
                "there is no CodeBuild proxy server here; the build reaches the network directly",
            ));
        }
        if env.get("git-credential-helper").is_some_and(is_yes) {
            out.push(note(
                "/env/git-credential-helper",
                "CodeBuild's credential helper for its source credentials does not exist here; \
                 git uses the credentials the build environment has",
            ));
        }
    }
    if let Some(phases) = top.get("phases").and_then(Value::as_object) {
        unknown_keys(&mut out, "/phases", phases, PHASES);
        for (name, phase) in phases {
            if let Some(phase) = phase.as_object() {
                unknown_keys(&mut out, &format!("/phases/{name}"), phase, PHASE);
            }
        }
    }
    if let Some(artifacts) = top.get("artifacts").and_then(Value::as_object) {
        artifact_keys(&mut out, "/artifacts", artifacts);
        if let Some(secondary) = artifacts
            .get("secondary-artifacts")
            .and_then(Value::as_object)
        {
            for (name, section) in secondary {
                if let Some(section) = section.as_object() {
                    artifact_keys(
                        &mut out,
                        &format!("/artifacts/secondary-artifacts/{name}"),
                        section,
                    );
                }
            }
        }
    }
    out
}

fn artifact_keys(
    out: &mut Vec<NotDoneLocally>,
    at: &str,
    section: &serde_json::Map<String, Value>,
) {
    unknown_keys(out, at, section, ARTIFACTS);
    if section.get("enable-symlinks").is_some_and(is_yes) {
        out.push(note(
            &format!("{at}/enable-symlinks"),
            "symbolic links are stored as the files they point to",
        ));
    }
    if section.contains_key("s3-prefix") {
        out.push(note(
            &format!("{at}/s3-prefix"),
            "artifacts stay in the local artifact store; the S3 prefix is not used",
        ));
    }
}

fn unknown_keys(
    out: &mut Vec<NotDoneLocally>,
    at: &str,
    map: &serde_json::Map<String, Value>,
    known: &[&str],
) {
    for key in map.keys().filter(|key| !known.contains(&key.as_str())) {
        out.push(note(
            &format!("{at}/{key}"),
            format!("`{key}` is not a key CodeBuild knows here; it is ignored"),
        ));
    }
}

fn is_yes(value: &Value) -> bool {
    match value {
        Value::Bool(yes) => *yes,
        Value::String(text) => matches!(text.to_ascii_lowercase().as_str(), "yes" | "true"),
        _ => false,
    }
}

fn note(path: &str, note: impl Into<String>) -> NotDoneLocally {
    NotDoneLocally {
        path: path.to_owned(),
        note: note.into(),
    }
}
