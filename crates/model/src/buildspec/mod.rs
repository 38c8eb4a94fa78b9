//! CodeBuild buildspec parsing, versions 0.1 and 0.2, read as CodeBuild reads them.
//!
//! A buildspec is YAML with kebab-case keys. Parsing is pure: callers hand in the text and get
//! back either a [`Buildspec`] or a [`BuildspecError`] that points at the offending line, column
//! and JSON-pointer-like path where they are known. CodeBuild is lenient in ways real buildspecs
//! rely on, and so is this parser: one string where a list is expected (`files: out.zip`), env
//! values YAML would read as numbers kept as written (`3.10`), a byte-order mark, CRLF line ends.
//! Keys the local engine does not carry out are listed in [`Buildspec::not_done_locally`], so a
//! runner names them before the build starts instead of dropping them silently.

pub mod batch;
mod not_done_locally;
pub(crate) mod raw;

use indexmap::IndexMap;

pub use not_done_locally::NotDoneLocally;
use raw::{RawArtifacts, RawBuildspec, RawEnv, RawPhase};

/// Buildspecs are small; a deeper document is almost certainly an alias bomb or a mistake.
const MAX_YAML_DEPTH: usize = 64;

/// The buildspec versions CodeBuild runs. They differ in one thing that matters: how many shells
/// the commands share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `0.1`: each command runs in a shell of its own, so a `cd` or an `export` does not carry
    /// over to the next command.
    V0_1,
    /// `0.2`: every command of every phase runs in one shell.
    V0_2,
}

impl Version {
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V0_1 => "0.1",
            Version::V0_2 => "0.2",
        }
    }
}

/// A parsed buildspec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buildspec {
    pub version: Version,
    /// `run-as` at the top: the Linux user every command runs as.
    pub run_as: Option<String>,
    pub env: Env,
    pub phases: Phases,
    pub artifacts: Option<Artifacts>,
    /// The `batch` section, or what is wrong with it. CodeBuild reads it only when the action
    /// (or project) has batch builds enabled, so a mistake in it matters only then.
    pub batch: Option<Result<batch::Batch, String>>,
    /// The `reports` section: report groups by name (or ARN).
    pub reports: IndexMap<String, ReportGroup>,
    /// The `cache` section.
    pub cache: Option<Cache>,
    /// What the buildspec asks for that no local build does, each with where it is.
    pub not_done_locally: Vec<NotDoneLocally>,
}

/// The `env` section. Variable values that YAML would read as numbers or booleans are kept as the
/// text they were written as (`1.10` stays `1.10`), because they end up as environment variables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Env {
    /// `bash` or `sh` (checked by [`parse`]); None means CodeBuild's default, `sh`.
    pub shell: Option<String>,
    pub variables: IndexMap<String, String>,
    pub parameter_store: IndexMap<String, String>,
    pub secrets_manager: IndexMap<String, String>,
    pub exported_variables: Vec<String>,
    pub git_credential_helper: bool,
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
    /// `runtime-versions` (install phase): runtime name to version, as written (`python: 3.10`).
    pub runtime_versions: IndexMap<String, String>,
    /// `run-as` of this phase alone.
    pub run_as: Option<String>,
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

/// A report group of the `reports` section: its files, and their format (`file-format`, JUNITXML
/// when not given; checked where the files are read).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportGroup {
    pub files: Vec<String>,
    pub base_directory: Option<String>,
    pub discard_paths: bool,
    pub file_format: Option<String>,
}

/// The `cache` section: what is kept between builds, and under which key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cache {
    /// Matched exactly; without one, the cache is the project's single one.
    pub key: Option<String>,
    /// Tried in order when the key has no cache, each as a prefix (ignored without a key).
    pub fallback_keys: Vec<String>,
    pub action: CacheAction,
    pub paths: Vec<String>,
}

/// `action:` of the cache section.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CacheAction {
    /// No `action`: restore before the build, save after it.
    #[default]
    RestoreAndSave,
    /// `restore`: only restore.
    Restore,
    /// `save`: only save.
    Save,
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

    fn whole(path: Option<&str>, message: impl Into<String>) -> Self {
        BuildspecError {
            line: None,
            column: None,
            path: path.map(str::to_owned),
            message: message.into(),
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

/// Parses a buildspec of version 0.1 or 0.2.
pub fn parse(text: &str) -> Result<Buildspec, BuildspecError> {
    // Editors on Windows write a byte-order mark, which CodeBuild skips.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(BuildspecError::whole(None, "the buildspec is empty"));
    }
    let raw = parse_raw(text)?;
    let version = check_version(&raw.version)?;
    if let Some(shell) = raw.env.as_ref().and_then(|env| env.shell.as_ref()) {
        check_shell(shell)?;
    }
    let phases = match raw.phases {
        Some(phases) => {
            let location = phases.referenced;
            let phases = Phases {
                install: phases.value.install.map(RawPhase::into_phase),
                pre_build: phases.value.pre_build.map(RawPhase::into_phase),
                build: phases.value.build.map(RawPhase::into_phase),
                post_build: phases.value.post_build.map(RawPhase::into_phase),
            };
            if phases == Phases::default() && raw.batch.is_none() {
                return Err(BuildspecError::at(
                    &location,
                    "/phases",
                    "`phases` has none of install, pre_build, build and post_build".to_owned(),
                ));
            }
            phases
        }
        // A batch buildspec may have no phases of its own: its tasks name their buildspecs.
        None if raw.batch.is_some() => Phases::default(),
        None => {
            return Err(BuildspecError::whole(
                Some("/phases"),
                "the buildspec has no `phases` section; it needs at least one of install, \
                 pre_build, build and post_build",
            ));
        }
    };
    let cache = match raw.cache {
        Some(cache) => Some(Cache {
            action: match cache
                .action
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None => CacheAction::RestoreAndSave,
                Some("restore") => CacheAction::Restore,
                Some("save") => CacheAction::Save,
                Some(other) => {
                    return Err(BuildspecError::whole(
                        Some("/cache/action"),
                        format!(
                            "unsupported cache action `{other}`; CodeBuild takes restore or save"
                        ),
                    ));
                }
            },
            key: cache.key,
            fallback_keys: cache.fallback_keys,
            paths: cache.paths,
        }),
        None => None,
    };
    // The same text as plain data, for the keys the typed shapes above do not read.
    let document: serde_json::Value =
        serde_saphyr::from_str(text).unwrap_or(serde_json::Value::Null);
    Ok(Buildspec {
        version,
        run_as: raw.run_as,
        env: raw.env.map(RawEnv::into_env).unwrap_or_default(),
        phases,
        artifacts: raw.artifacts.map(RawArtifacts::into_artifacts),
        batch: raw.batch.map(|_| batch::Batch::parse(text)),
        reports: raw
            .reports
            .unwrap_or_default()
            .into_iter()
            .map(|(name, group)| (name, group.into_group()))
            .collect(),
        cache,
        not_done_locally: not_done_locally::find(&document),
    })
}

fn check_version(version: &serde_saphyr::Spanned<String>) -> Result<Version, BuildspecError> {
    match version.value.trim() {
        "0.1" => Ok(Version::V0_1),
        "0.2" => Ok(Version::V0_2),
        found => Err(BuildspecError::at(
            &version.referenced,
            "/version",
            format!("unsupported buildspec version `{found}`; CodeBuild runs versions 0.1 and 0.2"),
        )),
    }
}

/// CodeBuild's Linux images take `bash` and `sh` (by name or path); its Windows images take
/// PowerShell and cmd, which cannot run on this machine.
fn check_shell(shell: &serde_saphyr::Spanned<String>) -> Result<(), BuildspecError> {
    let name = shell.value.trim();
    let base = name.rsplit('/').next().unwrap_or(name);
    if matches!(base, "bash" | "sh") {
        return Ok(());
    }
    let lower = name.to_ascii_lowercase();
    let message = if lower.contains("powershell")
        || lower.starts_with("cmd")
        || lower.contains("pwsh")
    {
        format!(
            "the shell `{name}` is for CodeBuild's Windows images, and Windows builds do not run \
             here; this machine runs Linux builds with bash or sh"
        )
    } else {
        format!("unsupported shell `{name}`; CodeBuild's Linux images take bash or sh")
    };
    Err(BuildspecError::at(&shell.referenced, "/env/shell", message))
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
    for spanned in ["/version", "/phases", "/env/shell"] {
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

#[cfg(test)]
mod tests;
