//! The raw shapes of a buildspec, mirroring the YAML, and the deserialisers that read values the
//! way CodeBuild reads them. Unknown keys are ignored here (serde's default); `not_done_locally`
//! names them instead, so nothing is dropped silently.

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

use super::{Artifacts, Env, OnFailure, Phase, ReportGroup};

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct RawBuildspec {
    pub version: serde_saphyr::Spanned<String>,
    #[serde(default)]
    pub run_as: Option<String>,
    #[serde(default)]
    pub env: Option<RawEnv>,
    #[serde(default)]
    pub phases: Option<serde_saphyr::Spanned<RawPhases>>,
    #[serde(default)]
    pub artifacts: Option<RawArtifacts>,
    /// Only whether there is one: the section is read on its own (`batch_section`), so a
    /// mistake in it fails only a batch build.
    #[serde(default)]
    pub batch: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    pub reports: Option<IndexMap<String, RawReportGroup>>,
    #[serde(default)]
    pub cache: Option<RawCache>,
}

/// The `batch` section, typed so that values stay as written (`3.10`, `yes`), as elsewhere.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawBatch {
    #[serde(default, deserialize_with = "yes_no")]
    pub fast_fail: bool,
    #[serde(default)]
    pub build_list: Option<Vec<RawBatchBuild>>,
    #[serde(default)]
    pub build_graph: Option<Vec<RawBatchBuild>>,
    #[serde(default)]
    pub build_matrix: Option<RawMatrix>,
    #[serde(default)]
    pub build_fanout: Option<RawFanout>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawBatchBuild {
    #[serde(default)]
    pub identifier: Option<String>,
    #[serde(default)]
    pub buildspec: Option<String>,
    #[serde(default)]
    pub env: Option<RawBatchEnv>,
    #[serde(default, deserialize_with = "yes_no")]
    pub ignore_failure: bool,
    #[serde(default, deserialize_with = "one_or_many")]
    pub depend_on: Vec<String>,
    #[serde(default, deserialize_with = "yes_no")]
    pub debug_session: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawBatchEnv {
    #[serde(default)]
    pub variables: Option<IndexMap<String, Option<String>>>,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub privileged_mode: Option<String>,
    /// `compute-type`, `type`, `fleet`: kept to be named, as written.
    #[serde(flatten)]
    pub other: IndexMap<String, serde_json::Value>,
}

#[derive(Deserialize)]
pub(crate) struct RawMatrix {
    #[serde(default, rename = "static")]
    pub static_part: Option<RawMatrixStatic>,
    #[serde(default)]
    pub dynamic: Option<RawMatrixDynamic>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawMatrixStatic {
    #[serde(default, deserialize_with = "yes_no")]
    pub ignore_failure: bool,
    #[serde(default)]
    pub env: Option<RawBatchEnv>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawMatrixDynamic {
    #[serde(default, deserialize_with = "one_or_many")]
    pub buildspec: Vec<String>,
    #[serde(default)]
    pub env: Option<RawMatrixDynamicEnv>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawMatrixDynamicEnv {
    #[serde(default, deserialize_with = "one_or_many")]
    pub image: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub compute_type: Vec<String>,
    #[serde(default)]
    pub variables: Option<IndexMap<String, Strings>>,
}

/// A string or a list of them, as written.
pub(crate) struct Strings(pub Vec<String>);

impl<'de> Deserialize<'de> for Strings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        one_or_many(deserializer).map(Strings)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawFanout {
    #[serde(default)]
    pub parallelism: Option<String>,
    #[serde(default, deserialize_with = "yes_no")]
    pub ignore_failure: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct RawReportGroup {
    #[serde(default, deserialize_with = "one_or_many")]
    pub files: Vec<String>,
    #[serde(default)]
    pub base_directory: Option<String>,
    #[serde(default, deserialize_with = "yes_no")]
    pub discard_paths: bool,
    #[serde(default)]
    pub file_format: Option<String>,
}

impl RawReportGroup {
    pub fn into_group(self) -> ReportGroup {
        ReportGroup {
            files: self.files,
            base_directory: self.base_directory,
            discard_paths: self.discard_paths,
            file_format: self.file_format,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct RawCache {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub fallback_keys: Vec<String>,
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub paths: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct RawEnv {
    #[serde(default)]
    pub shell: Option<serde_saphyr::Spanned<String>>,
    #[serde(default)]
    pub variables: Option<IndexMap<String, Option<String>>>,
    #[serde(default)]
    pub parameter_store: Option<IndexMap<String, Option<String>>>,
    #[serde(default)]
    pub secrets_manager: Option<IndexMap<String, Option<String>>>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub exported_variables: Vec<String>,
    #[serde(default, deserialize_with = "yes_no")]
    pub git_credential_helper: bool,
}

impl RawEnv {
    pub fn into_env(self) -> Env {
        Env {
            shell: self.shell.map(|shell| shell.value),
            variables: values_or_empty(self.variables),
            parameter_store: values_or_empty(self.parameter_store),
            secrets_manager: values_or_empty(self.secrets_manager),
            exported_variables: self.exported_variables,
            git_credential_helper: self.git_credential_helper,
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
pub(super) struct RawPhases {
    #[serde(default)]
    pub install: Option<RawPhase>,
    #[serde(default)]
    pub pre_build: Option<RawPhase>,
    #[serde(default)]
    pub build: Option<RawPhase>,
    #[serde(default)]
    pub post_build: Option<RawPhase>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) struct RawPhase {
    #[serde(default, deserialize_with = "one_or_many")]
    pub commands: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub finally: Vec<String>,
    #[serde(default)]
    pub on_failure: Option<OnFailure>,
    #[serde(default)]
    pub runtime_versions: Option<IndexMap<String, Option<String>>>,
    #[serde(default)]
    pub run_as: Option<String>,
}

impl RawPhase {
    pub fn into_phase(self) -> Phase {
        Phase {
            commands: self.commands,
            finally: self.finally,
            on_failure: self.on_failure.unwrap_or_default(),
            runtime_versions: values_or_empty(self.runtime_versions),
            run_as: self.run_as,
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
pub(super) struct RawArtifacts {
    #[serde(default, deserialize_with = "one_or_many")]
    pub files: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "yes_no")]
    pub discard_paths: bool,
    #[serde(default)]
    pub base_directory: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    pub exclude_paths: Vec<String>,
    #[serde(default)]
    pub secondary_artifacts: Option<IndexMap<String, RawArtifacts>>,
}

impl RawArtifacts {
    pub fn into_artifacts(self) -> Artifacts {
        Artifacts {
            files: self.files,
            name: self.name,
            discard_paths: self.discard_paths,
            base_directory: self.base_directory,
            exclude_paths: self.exclude_paths,
            secondary_artifacts: self
                .secondary_artifacts
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| (key, value.into_artifacts()))
                .collect(),
        }
    }
}

/// CodeBuild takes one string where a list is expected (`files: imagedefinitions.json`, as AWS's
/// own ECS tutorial writes it, or `commands: make`), and reads it as a list of that one item. A
/// null (`commands:` with nothing after it) is an empty list.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    // A visitor rather than an untagged enum: an untagged enum would replace serde-saphyr's
    // message (and position) for a wrong item with "did not match any variant".
    struct Strings;

    impl<'de> Visitor<'de> for Strings {
        type Value = Vec<String>;

        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("a string or a list of strings")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Vec<String>, E> {
            Ok(vec![value.to_owned()])
        }

        fn visit_bool<E: de::Error>(self, value: bool) -> Result<Vec<String>, E> {
            Ok(vec![value.to_string()])
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Vec<String>, E> {
            Ok(vec![value.to_string()])
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Vec<String>, E> {
            Ok(vec![value.to_string()])
        }

        fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: de::Error>(self) -> Result<Vec<String>, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                out.push(item);
            }
            Ok(out)
        }
    }
    deserializer.deserialize_any(Strings)
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
