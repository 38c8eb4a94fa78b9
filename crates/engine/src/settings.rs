//! Local settings: what the local engine needs to know that a CodePipeline declaration cannot say
//! (where a source repository lives on this machine, which buildspec to use, how to run an action
//! that has no local runner). They live in their own file beside the pipeline
//! (`NAME.pipewright.yaml`) so the pipeline file stays exactly what AWS accepts.
//!
//! ```yaml
//! actions:
//!   Source/App:    { path: ../my-repo }            # git repository (or a directory) for a source action
//!   Build/Compile: { buildspec: ci/local.yml }     # buildspec for a CodeBuild action
//!   Deploy/Site:   { path: ./out/site }            # target directory for an S3 deploy
//!   Deploy/Assets: { s3: true }                    # the real bucket BucketName/ObjectKey name
//!   Deploy/Stack:  { simulate: true }              # no local runner: succeed, labelled simulated
//!   Test/Lambda:   { commands: ["./smoke.sh"] }    # no local runner: run these commands instead
//!   Build/Image:   { image: docker:dind, privileged: true }  # run this build in a container
//!   Build/Test:                                    # what its CodeBuild project says (`pull` writes it)
//!     sourceBuildspec: ci/test.yml                 # the buildspec's path in the primary source
//!     environmentVariables: {STAGE: prod, DB_PASSWORD: {parameterStore: /app/db/password}}
//! environment:                                     # where CodeBuild and Commands actions run
//!   image: localhost/build:latest                  # (no image, or `image: host`: this machine)
//!   privileged: false
//!   runtime: podman                                # or docker; default: whichever is installed
//!   awsCredentials: environment                    # or {profile: NAME}; default: none
//! parameterStore: { /app/db-host: db.internal }    # values for builds' parameter-store
//! secretsManager: { prod/db: {env: PROD_DB} }      # and secrets-manager (masked in logs)
//! storedValuesFromAws: true                        # the values not given: from AWS, via aws:
//! aws:                                             # how `s3: true` actions reach AWS (optional)
//!   profile: dev
//!   region: eu-west-1
//! ```

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::containers::BuildEnvironmentSettings;
use crate::objects::AwsConnection;
use crate::stored_values::{StoredValue, StoredValues};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LocalSettings {
    /// Per action, keyed `Stage/Action`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub actions: IndexMap<String, ActionSettings>,
    /// Per stage-condition rule, keyed `Stage/Rule`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub rules: IndexMap<String, RuleSettings>,
    /// How actions with `s3: true` reach AWS; the standard AWS configuration when empty.
    #[serde(default, skip_serializing_if = "is_default")]
    pub aws: AwsConnection,
    /// Where CodeBuild and Commands actions run when their own settings do not say.
    #[serde(default, skip_serializing_if = "is_default")]
    pub environment: BuildEnvironmentSettings,
    /// What builds read from Parameter Store, by parameter name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub parameter_store: IndexMap<String, StoredValue>,
    /// What builds read from Secrets Manager, by secret id or ARN.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub secrets_manager: IndexMap<String, StoredValue>,
    /// Values builds read that `parameterStore`/`secretsManager` do not give are read from AWS
    /// (through the `aws:` connection) when the build starts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stored_values_from_aws: bool,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

/// How to evaluate a stage-condition rule that needs AWS (CloudWatchAlarm, LambdaInvoke,
/// DeploymentWindow), or to override one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleSettings {
    /// Do not evaluate: the rule passes or fails as given, labelled simulated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<SimulatedOutcome>,
    /// Run these commands instead; exit status 0 passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SimulatedOutcome {
    Succeeded,
    Failed,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionSettings {
    /// Source: a git repository or a directory (or a .zip for S3). S3 deploy: the target directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// S3 source or deploy: use the real bucket the action's configuration names (S3Bucket and
    /// S3ObjectKey, BucketName and ObjectKey) instead of a local path.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub s3: bool,
    /// Source from git: take the files as they are in the working tree (uncommitted changes
    /// included) instead of the branch head.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub working_copy: bool,
    /// CodeBuild: the buildspec file to use instead of `buildspec.yml` in the primary source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buildspec: Option<PathBuf>,
    /// CodeBuild: the buildspec's path inside the primary source, as a CodeBuild project names it
    /// (its `source.buildspec`), instead of `buildspec.yml`. `buildspec` wins when both are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_buildspec: Option<String>,
    /// CodeBuild: the project's environment variables. They override the buildspec's, and the
    /// action's `EnvironmentVariables` override them, as on CodeBuild.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub environment_variables: IndexMap<String, ProjectVariable>,
    /// Any action: run these shell commands instead (for providers with no local runner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Vec<String>>,
    /// Any action: do not run it; it succeeds and is labelled simulated everywhere.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulate: bool,
    /// CodeBuild, Commands or mapped commands: the container image to run in (`host`: this
    /// machine), instead of the settings-wide `environment`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// With `image`: CodeBuild's privileged mode (docker-in-docker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privileged: Option<bool>,
    /// With `simulate`: output variables the simulated action reports.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub output_variables: IndexMap<String, String>,
}

/// A CodeBuild project's environment variable: a plain value (PLAINTEXT), or the name of a
/// value in Parameter Store or Secrets Manager, which the settings' `parameterStore:` and
/// `secretsManager:` give here.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ProjectVariable {
    Plain(String),
    Stored(StoredReference),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum StoredReference {
    ParameterStore(String),
    SecretsManager(String),
}

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct SettingsError {
    pub file: String,
    pub message: String,
}

impl LocalSettings {
    /// The Parameter Store and Secrets Manager values builds read.
    pub fn stored_values(&self) -> StoredValues {
        StoredValues {
            parameter_store: self.parameter_store.clone(),
            secrets_manager: self.secrets_manager.clone(),
        }
    }

    /// The settings file that goes with a pipeline file, if there is one:
    /// `pipeline.json` → `pipeline.pipewright.yaml` (or `.yml`, `.json`).
    pub fn beside(pipeline_file: &Path) -> Option<PathBuf> {
        let stem = pipeline_file.file_stem()?.to_string_lossy().into_owned();
        let dir = pipeline_file.parent().unwrap_or(Path::new("."));
        ["yaml", "yml", "json"]
            .iter()
            .map(|ext| dir.join(format!("{stem}.pipewright.{ext}")))
            .find(|candidate| candidate.is_file())
    }

    /// The settings file for a pipeline file: the one beside it, or where a new one goes
    /// (`pipeline.json` → `pipeline.pipewright.yaml`).
    pub fn file_for(pipeline_file: &Path) -> PathBuf {
        LocalSettings::beside(pipeline_file).unwrap_or_else(|| {
            let stem = pipeline_file
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            pipeline_file
                .parent()
                .unwrap_or(Path::new("."))
                .join(format!("{stem}.pipewright.yaml"))
        })
    }

    /// Parses settings text; relative paths are made absolute against `base_dir` (the settings
    /// file's directory) so the stored settings work from any working directory.
    pub fn parse(text: &str, file: &str, base_dir: &Path) -> Result<Self, SettingsError> {
        let error = |message: String| SettingsError {
            file: file.to_owned(),
            message,
        };
        let mut settings: LocalSettings = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| error(e.to_string()))?
        } else {
            serde_saphyr::from_str(text)
                .map_err(|e| error(e.to_string().lines().next().unwrap_or_default().to_owned()))?
        };
        if let Some(key) = settings.rules.keys().find(|key| !key.contains('/')) {
            return Err(error(format!("'{key}' should name a rule as Stage/Rule")));
        }
        for (key, action) in &mut settings.actions {
            if !key.contains('/') {
                return Err(error(format!(
                    "'{key}' should name an action as Stage/Action"
                )));
            }
            for path in [&mut action.path, &mut action.buildspec]
                .into_iter()
                .flatten()
            {
                if path.is_relative() {
                    *path = base_dir.join(&*path);
                }
            }
        }
        Ok(settings)
    }

    pub fn action(&self, stage: &str, action: &str) -> Option<&ActionSettings> {
        self.actions.get(&format!("{stage}/{action}"))
    }

    pub fn rule(&self, stage: &str, rule: &str) -> Option<&RuleSettings> {
        self.rules.get(&format!("{stage}/{rule}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_settings_file() {
        let s = LocalSettings::parse(
            "actions:\n  Source/App: {path: ../repo}\n",
            "x.yaml",
            Path::new("/home/me/p"),
        )
        .expect("parses");
        assert_eq!(
            s.action("Source", "App").and_then(|a| a.path.clone()),
            Some(PathBuf::from("/home/me/p/../repo"))
        );
    }

    #[test]
    fn unknown_keys_and_bad_action_names_are_errors() {
        assert!(
            LocalSettings::parse(
                "actions:\n  Source/App: {pth: x}\n",
                "x.yaml",
                Path::new("/")
            )
            .is_err()
        );
        assert!(
            LocalSettings::parse("actions:\n  App: {path: x}\n", "x.yaml", Path::new("/")).is_err()
        );
    }
}
