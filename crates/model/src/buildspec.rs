//! CodeBuild buildspec (version 0.2) parsing.
//!
//! A buildspec is YAML with kebab-case keys. Parsing is pure: callers hand in the text and get
//! back either a [`Buildspec`] or a [`BuildspecError`] that points at the offending line, column
//! and JSON-pointer-like path where they are known. Keys CodeBuild defines but the local engine
//! does not use (`reports`, `cache`, `batch`, `proxy`, `run-as`, ...) are accepted and ignored,
//! so that real buildspecs written for CodeBuild load unchanged.

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// The only buildspec version Pipewright runs.
pub const SUPPORTED_VERSION: &str = "0.2";

/// Buildspecs are small; a deeper document is almost certainly an alias bomb or a mistake.
const MAX_YAML_DEPTH: usize = 64;

/// A parsed buildspec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buildspec {
    pub version: String,
    pub env: Env,
    pub phases: Phases,
    pub artifacts: Option<Artifacts>,
}

/// The `env` section. Variable values that YAML would read as numbers or booleans are kept as the
/// text they were written as (`1.10` stays `1.10`), because they end up as environment variables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env {
    pub shell: Option<String>,
    pub variables: IndexMap<String, String>,
    pub parameter_store: IndexMap<String, String>,
    pub secrets_manager: IndexMap<String, String>,
    pub exported_variables: Vec<String>,
}

/// The four phases CodeBuild knows, each optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Phases {
    pub install: Option<Phase>,
    pub pre_build: Option<Phase>,
    pub build: Option<Phase>,
    pub post_build: Option<Phase>,
}

/// One phase: its commands, the `finally` block that runs after them whether they failed or not,
/// and what a failure does to the phases after it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Phase {
    pub commands: Vec<String>,
    pub finally: Vec<String>,
    pub on_failure: OnFailure,
    pub runtime_versions: IndexMap<String, String>,
}

/// The buildspec's `on-failure` setting of a phase.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OnFailure {
    /// `ABORT`, the default: a failure ends the build (though a failed BUILD still runs
    /// POST_BUILD, as CodeBuild does).
    #[default]
    Abort,
    /// `CONTINUE`: the next phases run as if this one had succeeded; the build still fails.
    Continue,
}

/// The `artifacts` section, and each entry of its `secondary-artifacts`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Artifacts {
    pub files: Vec<String>,
    pub name: Option<String>,
    pub discard_paths: bool,
    pub base_directory: Option<String>,
    pub exclude_paths: Vec<String>,
    pub secondary_artifacts: IndexMap<String, Artifacts>,
}

/// Why a buildspec could not be read. `line` and `column` are 1-based and present where the YAML
/// parser knows them; `path` is a JSON pointer such as `/phases/build/commands/0`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct BuildspecError {
    pub line: Option<u64>,
    pub column: Option<u64>,
    pub path: Option<String>,
    pub message: String,
}

impl BuildspecError {
    fn render(&self) -> String {
        let mut out = String::new();
        if let (Some(line), Some(column)) = (self.line, self.column) {
            out.push_str(&format!("line {line}, column {column}: "));
        }
        if let Some(path) = &self.path {
            out.push_str(&format!(
                "at {}: ",
                if path.is_empty() { "/" } else { path }
            ));
        }
        out.push_str(&self.message);
        out
    }

    fn at(location: &serde_saphyr::Location, path: &str, message: String) -> Self {
        BuildspecError {
            line: Some(location.line()),
            column: Some(location.column()),
            path: Some(path.to_owned()),
            message,
        }
    }
}

impl Buildspec {
    /// The phases that are present, in the order CodeBuild runs them, with CodeBuild's names for
    /// them (the names its logs and `CODEBUILD_*` conventions use).
    pub fn phases_in_order(&self) -> Vec<(&'static str, &Phase)> {
        let phases = &self.phases;
        [
            ("INSTALL", &phases.install),
            ("PRE_BUILD", &phases.pre_build),
            ("BUILD", &phases.build),
            ("POST_BUILD", &phases.post_build),
        ]
        .into_iter()
        .filter_map(|(name, phase)| phase.as_ref().map(|phase| (name, phase)))
        .collect()
    }
}

/// Parses a version 0.2 buildspec.
pub fn parse(text: &str) -> Result<Buildspec, BuildspecError> {
    if text.trim().is_empty() {
        return Err(BuildspecError {
            line: None,
            column: None,
            path: None,
            message: "the buildspec is empty".to_owned(),
        });
    }
    let raw = parse_raw(text)?;
    check_version(&raw.version)?;
    let Some(phases) = raw.phases else {
        return Err(BuildspecError {
            line: None,
            column: None,
            path: Some("/phases".to_owned()),
            message: "the buildspec has no `phases` section; it needs at least one of install, \
                      pre_build, build and post_build"
                .to_owned(),
        });
    };
    let location = phases.referenced;
    let phases = Phases {
        install: phases.value.install.map(RawPhase::into_phase),
        pre_build: phases.value.pre_build.map(RawPhase::into_phase),
        build: phases.value.build.map(RawPhase::into_phase),
        post_build: phases.value.post_build.map(RawPhase::into_phase),
    };
    if phases == Phases::default() {
        return Err(BuildspecError::at(
            &location,
            "/phases",
            "`phases` has none of install, pre_build, build and post_build".to_owned(),
        ));
    }
    Ok(Buildspec {
        version: raw.version.value,
        env: raw.env.map(RawEnv::into_env).unwrap_or_default(),
        phases,
        artifacts: raw.artifacts.map(RawArtifacts::into_artifacts),
    })
}

fn check_version(version: &serde_saphyr::Spanned<String>) -> Result<(), BuildspecError> {
    let found = version.value.trim();
    if found == SUPPORTED_VERSION {
        return Ok(());
    }
    let message = if found == "0.1" {
        // Version 0.1 runs every command in a fresh shell; the script generator implements only
        // 0.2's single shared shell, so running a 0.1 buildspec would silently change its meaning.
        format!(
            "buildspec version 0.1 is not supported; only version {SUPPORTED_VERSION} is \
             (0.1 runs each command in its own shell, 0.2 runs all commands in one shell)"
        )
    } else {
        format!(
            "unsupported buildspec version `{found}`; only version {SUPPORTED_VERSION} is supported"
        )
    };
    Err(BuildspecError::at(&version.referenced, "/version", message))
}

/// Deserialises straight from the YAML events rather than through a `serde_json::Value`, so that
/// type errors keep the line and column serde-saphyr knows, while serde_path_to_error records
/// where in the document the deserialiser was.
fn parse_raw(text: &str) -> Result<RawBuildspec, BuildspecError> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_depth = MAX_YAML_DEPTH;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    let mut path = None;
    let result = serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        serde_path_to_error::deserialize::<_, RawBuildspec>(de).map_err(|error| {
            path = Some(json_pointer(error.path()));
            error.into_inner()
        })
    });
    result.map_err(|error| {
        let location = error.location();
        BuildspecError {
            line: location.as_ref().map(|l| l.line()),
            column: location.as_ref().map(|l| l.column()),
            // An empty path means the error is about the document as a whole (or its syntax),
            // where a path adds nothing to the position.
            path: path
                .map(|path| without_span_fields(&path))
                .filter(|path| !path.is_empty()),
            message: yaml_message(&error),
        }
    })
}

/// `Spanned<T>` deserialises as a struct whose `value` field holds the `T`, which would show up in
/// paths as `/phases/value/build`; the user wrote `/phases/build`.
fn without_span_fields(path: &str) -> String {
    for spanned in ["/version", "/phases"] {
        if let Some(rest) = path
            .strip_prefix(spanned)
            .and_then(|rest| rest.strip_prefix("/value"))
        {
            return format!("{spanned}{rest}");
        }
    }
    path.to_owned()
}

/// serde_path_to_error prints `phases.build.commands[0]`; Pipewright's diagnostics use JSON
/// pointers everywhere, so buildspec errors do too.
fn json_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { variant } => out.push_str(&format!("/{variant}")),
            Segment::Unknown => {}
        }
    }
    out
}

/// serde-saphyr's user-facing message without its position, source snippet or any line breaks,
/// because the position is reported in separate fields and the message ends up on one log line.
fn yaml_message(error: &serde_saphyr::Error) -> String {
    use serde_saphyr::MessageFormatter;
    let text = serde_saphyr::UserMessageFormatter.format_message(error.without_snippet());
    let message = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if message.is_empty() {
        "invalid YAML".to_owned()
    } else {
        message
    }
}

// The raw shapes mirror the YAML. Unknown keys are ignored (serde's default) because CodeBuild
// defines many sections the local engine has no use for.

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawBuildspec {
    version: serde_saphyr::Spanned<String>,
    #[serde(default)]
    env: Option<RawEnv>,
    #[serde(default)]
    phases: Option<serde_saphyr::Spanned<RawPhases>>,
    #[serde(default)]
    artifacts: Option<RawArtifacts>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawEnv {
    #[serde(default)]
    shell: Option<String>,
    #[serde(default)]
    variables: Option<IndexMap<String, Option<String>>>,
    #[serde(default)]
    parameter_store: Option<IndexMap<String, Option<String>>>,
    #[serde(default)]
    secrets_manager: Option<IndexMap<String, Option<String>>>,
    #[serde(default)]
    exported_variables: Option<Vec<String>>,
}

impl RawEnv {
    fn into_env(self) -> Env {
        Env {
            shell: self.shell,
            variables: values_or_empty(self.variables),
            parameter_store: values_or_empty(self.parameter_store),
            secrets_manager: values_or_empty(self.secrets_manager),
            exported_variables: self.exported_variables.unwrap_or_default(),
        }
    }
}

/// A variable written as `NAME:` with nothing after it is null in YAML; as an environment variable
/// it can only mean the empty string.
fn values_or_empty(map: Option<IndexMap<String, Option<String>>>) -> IndexMap<String, String> {
    map.unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, value.unwrap_or_default()))
        .collect()
}

#[derive(Deserialize)]
struct RawPhases {
    #[serde(default)]
    install: Option<RawPhase>,
    #[serde(default)]
    pre_build: Option<RawPhase>,
    #[serde(default)]
    build: Option<RawPhase>,
    #[serde(default)]
    post_build: Option<RawPhase>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawPhase {
    #[serde(default)]
    commands: Option<Vec<String>>,
    #[serde(default)]
    finally: Option<Vec<String>>,
    #[serde(default)]
    on_failure: Option<OnFailure>,
    #[serde(default)]
    runtime_versions: Option<IndexMap<String, String>>,
}

impl RawPhase {
    fn into_phase(self) -> Phase {
        Phase {
            commands: self.commands.unwrap_or_default(),
            finally: self.finally.unwrap_or_default(),
            on_failure: self.on_failure.unwrap_or_default(),
            runtime_versions: self.runtime_versions.unwrap_or_default(),
        }
    }
}

impl<'de> Deserialize<'de> for OnFailure {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // CodeBuild documents the values in upper case; lower case is accepted because the
        // meaning is unambiguous and rejecting it would only annoy.
        match text.to_ascii_uppercase().as_str() {
            "ABORT" => Ok(OnFailure::Abort),
            "CONTINUE" => Ok(OnFailure::Continue),
            _ => Err(de::Error::custom(format!(
                "unsupported on-failure value `{text}`; expected ABORT or CONTINUE"
            ))),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawArtifacts {
    #[serde(default)]
    files: Option<Vec<String>>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "yes_no")]
    discard_paths: bool,
    #[serde(default)]
    base_directory: Option<String>,
    #[serde(default)]
    exclude_paths: Option<Vec<String>>,
    #[serde(default)]
    secondary_artifacts: Option<IndexMap<String, RawArtifacts>>,
}

impl RawArtifacts {
    fn into_artifacts(self) -> Artifacts {
        Artifacts {
            files: self.files.unwrap_or_default(),
            name: self.name,
            discard_paths: self.discard_paths,
            base_directory: self.base_directory,
            exclude_paths: self.exclude_paths.unwrap_or_default(),
            secondary_artifacts: self
                .secondary_artifacts
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| (key, value.into_artifacts()))
                .collect(),
        }
    }
}

/// CodeBuild's documentation spells booleans `yes`/`no`; YAML 1.2 reads those as strings and
/// YAML 1.1 as booleans, and people quote them either way, so every spelling is accepted.
fn yes_no<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    struct YesNo;

    impl Visitor<'_> for YesNo {
        type Value = bool;

        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("yes, no, true or false")
        }

        fn visit_bool<E: de::Error>(self, value: bool) -> Result<bool, E> {
            Ok(value)
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<bool, E> {
            match value.to_ascii_lowercase().as_str() {
                "yes" | "true" => Ok(true),
                "no" | "false" => Ok(false),
                _ => Err(E::invalid_value(de::Unexpected::Str(value), &self)),
            }
        }
    }

    deserializer.deserialize_any(YesNo)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"version: 0.2

run-as: root

env:
  shell: bash
  variables:
    JAVA_HOME: "/usr/lib/jvm/java-17"
    RETRIES: 3
    RATIO: 1.10
    DEBUG: true
    EMPTY:
  parameter-store:
    LOGIN_PASSWORD: /CodeBuild/dockerLoginPassword
  secrets-manager:
    TOKEN: prod/token:key
  exported-variables:
    - IMAGE_TAG
    - BUILD_ID

phases:
  install:
    on-failure: ABORT
    runtime-versions:
      java: corretto17
      python: 3.10
    commands:
      - echo Entered the install phase...
      - apt-get update -y
  pre_build:
    commands:
      - echo "it's $HOME"
  build:
    on-failure: CONTINUE
    commands:
      - |
        if [ -f Makefile ]; then
          make all
        fi
      - mvn install
    finally:
      - echo cleaning up
  post_build:
    commands:
      - echo Build completed on `date`

reports:
  arn:aws:codebuild:us-west-2:123456789012:report-group/report-group-name-1:
    files:
      - "**/*"
    base-directory: 'target/tests/reports'
    discard-paths: no

artifacts:
  files:
    - target/messageUtil-1.0.jar
  name: $(date +%Y-%m-%d)
  discard-paths: yes
  base-directory: build
  exclude-paths:
    - "**/*.tmp"
  secondary-artifacts:
    artifact1:
      files:
        - directory/file1
      discard-paths: "no"
    artifact2:
      files:
        - directory/file2

cache:
  paths:
    - '/root/.m2/**/*'
"#;

    #[test]
    fn full_buildspec_parses() {
        let spec = parse(FULL).expect("parses");
        assert_eq!(spec.version, "0.2");
        assert_eq!(spec.env.shell.as_deref(), Some("bash"));
        assert_eq!(
            spec.env.parameter_store["LOGIN_PASSWORD"],
            "/CodeBuild/dockerLoginPassword"
        );
        assert_eq!(spec.env.secrets_manager["TOKEN"], "prod/token:key");
        assert_eq!(spec.env.exported_variables, ["IMAGE_TAG", "BUILD_ID"]);

        let install = spec.phases.install.as_ref().expect("install");
        assert_eq!(install.on_failure, OnFailure::Abort);
        assert_eq!(install.runtime_versions["java"], "corretto17");
        assert_eq!(install.runtime_versions["python"], "3.10");
        assert_eq!(install.commands.len(), 2);
        let pre_build = spec.phases.pre_build.as_ref().expect("pre_build");
        assert_eq!(pre_build.commands, [r#"echo "it's $HOME""#]);
        let build = spec.phases.build.as_ref().expect("build");
        assert_eq!(build.on_failure, OnFailure::Continue);
        assert_eq!(
            build.commands[0],
            "if [ -f Makefile ]; then\n  make all\nfi\n"
        );
        assert_eq!(build.finally, ["echo cleaning up"]);
        let post_build = spec.phases.post_build.as_ref().expect("post_build");
        assert_eq!(post_build.commands, ["echo Build completed on `date`"]);

        let names: Vec<&str> = spec
            .phases_in_order()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD"]);

        let artifacts = spec.artifacts.as_ref().expect("artifacts");
        assert_eq!(artifacts.files, ["target/messageUtil-1.0.jar"]);
        assert_eq!(artifacts.name.as_deref(), Some("$(date +%Y-%m-%d)"));
        assert!(artifacts.discard_paths);
        assert_eq!(artifacts.base_directory.as_deref(), Some("build"));
        assert_eq!(artifacts.exclude_paths, ["**/*.tmp"]);
        let secondary: Vec<&str> = artifacts
            .secondary_artifacts
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(secondary, ["artifact1", "artifact2"]);
        assert!(!artifacts.secondary_artifacts["artifact1"].discard_paths);
        assert_eq!(
            artifacts.secondary_artifacts["artifact2"].files,
            ["directory/file2"]
        );
    }

    #[test]
    fn scalar_variables_become_the_strings_they_were_written_as() {
        let spec = parse(FULL).expect("parses");
        let variables: Vec<(&str, &str)> = spec
            .env
            .variables
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            variables,
            [
                ("JAVA_HOME", "/usr/lib/jvm/java-17"),
                ("RETRIES", "3"),
                ("RATIO", "1.10"),
                ("DEBUG", "true"),
                ("EMPTY", ""),
            ]
        );
    }

    #[test]
    fn only_present_phases_are_listed() {
        let spec = parse("version: 0.2\nphases:\n  build:\n    commands: [make]\n  install:\n    commands: [true]\n")
            .expect("parses");
        let names: Vec<&str> = spec
            .phases_in_order()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, ["INSTALL", "BUILD"]);
        assert_eq!(spec.env, Env::default());
        assert_eq!(spec.artifacts, None);
    }

    #[test]
    fn discard_paths_accepts_every_boolean_spelling() {
        for (text, expected) in [
            ("yes", true),
            ("no", false),
            ("true", true),
            ("false", false),
            ("\"yes\"", true),
            ("'no'", false),
        ] {
            let yaml = format!(
                "version: 0.2\nphases:\n  build:\n    commands: [make]\nartifacts:\n  files: [a]\n  discard-paths: {text}\n"
            );
            let spec = parse(&yaml).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                spec.artifacts.map(|a| a.discard_paths),
                Some(expected),
                "{text}"
            );
        }
    }

    #[test]
    fn version_0_1_is_refused_clearly() {
        let error = parse("version: 0.1\nphases:\n  build:\n    commands: [make]\n")
            .expect_err("0.1 is refused");
        assert!(error.message.contains("only version 0.2"), "{error}");
        assert_eq!(error.path.as_deref(), Some("/version"));
        assert_eq!(error.line, Some(1));

        let error = parse("version: 1.0\nphases:\n  build:\n    commands: [make]\n")
            .expect_err("1.0 is refused");
        assert!(error.message.contains("`1.0`"), "{error}");
    }

    #[test]
    fn a_bad_type_has_a_position_and_a_path() {
        // A command that looks like a mapping is a classic buildspec mistake: `- echo a: b`.
        let error = parse("version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n")
            .expect_err("a mapping is not a command");
        assert_eq!(error.line, Some(5), "{error}");
        assert!(error.column.is_some(), "{error}");
        assert_eq!(
            error.path.as_deref(),
            Some("/phases/build/commands/0"),
            "{error}"
        );
        let shown = error.to_string();
        assert!(shown.starts_with("line 5, column "), "{shown}");
        assert!(shown.contains("at /phases/build/commands/0: "), "{shown}");
    }

    #[test]
    fn a_bad_on_failure_value_is_reported_where_it_is() {
        let error =
            parse("version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n    commands: [make]\n")
                .expect_err("RETRY is not supported");
        assert_eq!(error.line, Some(4), "{error}");
        assert_eq!(
            error.path.as_deref(),
            Some("/phases/build/on-failure"),
            "{error}"
        );
        assert!(error.message.contains("ABORT or CONTINUE"), "{error}");
    }

    #[test]
    fn a_yaml_syntax_error_has_a_position() {
        let error =
            parse("version: 0.2\nphases:\n  build:\n    commands: [make\n").expect_err("syntax");
        assert!(error.line.is_some(), "{error}");
        assert!(!error.message.contains('\n'), "{error}");
    }

    #[test]
    fn missing_phases_is_an_error() {
        let error = parse("version: 0.2\nenv:\n  variables:\n    A: b\n").expect_err("no phases");
        assert_eq!(error.path.as_deref(), Some("/phases"));
        assert!(error.message.contains("phases"), "{error}");

        let error = parse("version: 0.2\nphases: {}\n").expect_err("empty phases");
        assert_eq!(error.path.as_deref(), Some("/phases"));
        assert_eq!(error.line, Some(2), "{error}");

        let error = parse("version: 0.2\nphases:\n  biuld:\n    commands: [make]\n")
            .expect_err("misspelt phase");
        assert_eq!(error.path.as_deref(), Some("/phases"));
    }

    #[test]
    fn missing_version_and_empty_text_are_errors() {
        let error = parse("phases:\n  build:\n    commands: [make]\n").expect_err("no version");
        assert!(error.message.contains("version"), "{error}");
        let error = parse("  \n").expect_err("empty");
        assert!(error.message.contains("empty"), "{error}");
    }
}
