//! The CodePipeline API's own patterns and limits (from its service model): role ARNs, artifact
//! stores and their keys, list counts, and the lengths of configuration values, commands and
//! output variables. The local engine runs past all of them, so each is an AWS problem.

use super::*;
use crate::{ArtifactStore, IncludeExclude};

const MAX_STAGES: usize = 50;
const MAX_VARIABLES: usize = 50;
const MAX_TRIGGERS: usize = 50;
const MAX_OUTPUT_VARIABLES: usize = 15;
const MAX_CONFIGURATION_KEY: usize = 50;
const MAX_CONFIGURATION_VALUE: usize = 1000;
const MAX_COMMAND: usize = 1000;
/// A trigger's filters of each kind, and the patterns of a filter (the API's list limits).
const MAX_TRIGGER_FILTERS: usize = 3;
const MAX_REF_PATTERNS: usize = 8;
const MAX_FILE_PATTERNS: usize = 10;

/// `arn:aws(-[\w]+)*:iam::[0-9]{12}:role/.*`, the API's RoleArn pattern, at most 1024 characters.
pub(super) fn role_arn_is_valid(arn: &str) -> bool {
    let word = |part: &str| {
        !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let Some(rest) = arn.strip_prefix("arn:aws") else {
        return false;
    };
    let Some((partition, rest)) = rest.split_once(":iam::") else {
        return false;
    };
    let Some((account, _role)) = rest.split_once(":role/") else {
        return false;
    };
    arn.len() <= 1024
        && (partition.is_empty()
            || partition
                .strip_prefix('-')
                .is_some_and(|p| p.split('-').all(word)))
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
}

/// An S3 bucket name as the API's ArtifactStoreLocation: 3 to 63 of `[a-zA-Z0-9\-\.]`.
fn store_location_is_valid(location: &str) -> bool {
    (3..=63).contains(&location.len())
        && location
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

impl Checker<'_> {
    pub(super) fn api_shapes(&mut self) {
        let p = self.pipeline;
        if let Some(arn) = p.role_arn.as_deref().filter(|arn| !arn.is_empty()) {
            self.role_arn("/roleArn", arn);
        }
        if let Some(store) = &p.artifact_store {
            self.artifact_store("/artifactStore", store);
        }
        for (region, store) in p.artifact_stores.iter().flatten() {
            let path = format!("/artifactStores/{}", pointer_key(region));
            if !(4..=30).contains(&region.len()) {
                self.push(
                    Severity::Aws,
                    "invalid-region",
                    path.clone(),
                    format!("'{region}' is not a region name (4 to 30 characters)"),
                );
            }
            self.artifact_store(&path, store);
        }
        self.at_most("/stages", "stages", p.stages.len(), MAX_STAGES);
        self.at_most(
            "/variables",
            "pipeline variables",
            p.variables().len(),
            MAX_VARIABLES,
        );
        self.at_most(
            "/triggers",
            "triggers",
            p.triggers.as_ref().map_or(0, Vec::len),
            MAX_TRIGGERS,
        );
        for (s, stage) in p.stages.iter().enumerate() {
            for (a, action) in stage.actions.iter().enumerate() {
                self.action_shapes(&format!("/stages/{s}/actions/{a}"), action);
            }
        }
        self.trigger_shapes();
    }

    /// One trigger per source action; at most three push and three pull-request filters; a push
    /// filter names branches or tags; the API's limits on each list of patterns.
    fn trigger_shapes(&mut self) {
        let mut sources = HashSet::new();
        for (t, trigger) in self.pipeline.triggers.iter().flatten().enumerate() {
            let git = &trigger.git_configuration;
            let path = format!("/triggers/{t}/gitConfiguration");
            if !sources.insert(git.source_action_name.as_str()) {
                self.push(
                    Severity::Aws,
                    "duplicate-trigger",
                    format!("{path}/sourceActionName"),
                    format!(
                        "another trigger already watches '{}'; a source action has one trigger",
                        git.source_action_name
                    ),
                );
            }
            let push = git.push.as_deref().unwrap_or_default();
            let pulls = git.pull_request.as_deref().unwrap_or_default();
            self.at_most(
                &format!("{path}/push"),
                "push filters in a trigger",
                push.len(),
                MAX_TRIGGER_FILTERS,
            );
            self.at_most(
                &format!("{path}/pullRequest"),
                "pull-request filters in a trigger",
                pulls.len(),
                MAX_TRIGGER_FILTERS,
            );
            for (f, filter) in push.iter().enumerate() {
                let fpath = format!("{path}/push/{f}");
                if filter.branches.is_none() && filter.tags.is_none() {
                    self.push(
                        Severity::Aws,
                        "trigger-filter-empty",
                        fpath.clone(),
                        "a push filter names the branches or the tags it starts on".into(),
                    );
                }
                self.patterns(
                    &format!("{fpath}/branches"),
                    filter.branches.as_ref(),
                    MAX_REF_PATTERNS,
                );
                self.patterns(
                    &format!("{fpath}/tags"),
                    filter.tags.as_ref(),
                    MAX_REF_PATTERNS,
                );
                self.patterns(
                    &format!("{fpath}/filePaths"),
                    filter.file_paths.as_ref(),
                    MAX_FILE_PATTERNS,
                );
            }
            for (f, filter) in pulls.iter().enumerate() {
                let fpath = format!("{path}/pullRequest/{f}");
                self.patterns(
                    &format!("{fpath}/branches"),
                    filter.branches.as_ref(),
                    MAX_REF_PATTERNS,
                );
                self.patterns(
                    &format!("{fpath}/filePaths"),
                    filter.file_paths.as_ref(),
                    MAX_FILE_PATTERNS,
                );
            }
        }
    }

    fn patterns(&mut self, path: &str, patterns: Option<&IncludeExclude>, max: usize) {
        let Some(patterns) = patterns else { return };
        for (side, list) in [
            ("includes", &patterns.includes),
            ("excludes", &patterns.excludes),
        ] {
            let count = list.as_ref().map_or(0, Vec::len);
            self.at_most(
                &format!("{path}/{side}"),
                "patterns in one list",
                count,
                max,
            );
        }
    }

    fn action_shapes(&mut self, path: &str, action: &Action) {
        let id = &action.action_type_id;
        let token = |text: &str, max: usize| {
            (1..=max).contains(&text.len())
                && text
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !token(&id.provider, 35) {
            self.push(
                Severity::Aws,
                "invalid-action-type",
                format!("{path}/actionTypeId/provider"),
                format!(
                    "the provider '{}' is not 1 to 35 of A-Z, a-z, 0-9, '_' and '-'",
                    id.provider
                ),
            );
        }
        if !token(&id.version, 9) {
            self.push(
                Severity::Aws,
                "invalid-action-type",
                format!("{path}/actionTypeId/version"),
                format!(
                    "the version '{}' is not 1 to 9 of A-Z, a-z, 0-9, '_' and '-'",
                    id.version
                ),
            );
        }
        if let Some(arn) = &action.role_arn {
            self.role_arn(&format!("{path}/roleArn"), arn);
        }
        if let Some(region) = &action.region
            && !(4..=30).contains(&region.len())
        {
            self.push(
                Severity::Aws,
                "invalid-region",
                format!("{path}/region"),
                format!("'{region}' is not a region name (4 to 30 characters)"),
            );
        }
        for (key, value) in action.configuration.iter().flatten() {
            let kpath = format!("{path}/configuration/{}", pointer_key(key));
            let key_length = key.chars().count();
            if key_length == 0 || key_length > MAX_CONFIGURATION_KEY {
                self.push(
                    Severity::Aws,
                    "configuration-length",
                    kpath.clone(),
                    format!("a configuration key is 1 to {MAX_CONFIGURATION_KEY} characters; '{key}' is {key_length}"),
                );
            }
            if value.is_empty() || value.chars().count() > MAX_CONFIGURATION_VALUE {
                self.push_hint(
                    Severity::Aws,
                    "configuration-length",
                    kpath,
                    format!(
                        "a configuration value is 1 to {MAX_CONFIGURATION_VALUE} characters; {key} has {}",
                        value.chars().count()
                    ),
                    "leave an empty property out",
                );
            }
        }
        for (i, command) in action.commands().iter().enumerate() {
            if command.is_empty() || command.chars().count() > MAX_COMMAND {
                self.push(
                    Severity::Aws,
                    "command-length",
                    format!("{path}/commands/{i}"),
                    format!(
                        "a command is 1 to {MAX_COMMAND} characters; this one has {}",
                        command.chars().count()
                    ),
                );
            }
        }
        if let Some(variables) = &action.output_variables
            && (variables.is_empty() || variables.len() > MAX_OUTPUT_VARIABLES)
        {
            self.push(
                Severity::Aws,
                "output-variable-count",
                format!("{path}/outputVariables"),
                format!(
                    "an action exports 1 to {MAX_OUTPUT_VARIABLES} output variables, not {}",
                    variables.len()
                ),
            );
        }
    }

    fn role_arn(&mut self, path: &str, arn: &str) {
        if !role_arn_is_valid(arn) {
            self.push_hint(
                Severity::Aws,
                "invalid-role-arn",
                path.into(),
                format!("'{arn}' is not an IAM role ARN"),
                "arn:aws:iam::ACCOUNT:role/NAME, where ACCOUNT is the 12-digit account id",
            );
        }
    }

    fn artifact_store(&mut self, path: &str, store: &ArtifactStore) {
        if store.store_type != "S3" {
            self.push(
                Severity::Aws,
                "invalid-artifact-store",
                format!("{path}/type"),
                format!("the artifact store type is S3, not '{}'", store.store_type),
            );
        }
        if !store_location_is_valid(&store.location) {
            self.push_hint(
                Severity::Aws,
                "invalid-artifact-store",
                format!("{path}/location"),
                format!("'{}' is not an S3 bucket name", store.location),
                "3 to 63 characters of a-z, A-Z, 0-9, '-' and '.'",
            );
        }
        if let Some(key) = &store.encryption_key {
            if !(1..=400).contains(&key.id.len()) {
                self.push(
                    Severity::Aws,
                    "invalid-artifact-store",
                    format!("{path}/encryptionKey/id"),
                    format!(
                        "an encryption key id is 1 to 400 characters; this one is {}",
                        key.id.len()
                    ),
                );
            }
            if key.key_type != "KMS" {
                self.push(
                    Severity::Aws,
                    "invalid-artifact-store",
                    format!("{path}/encryptionKey/type"),
                    format!("the encryption key type is KMS, not '{}'", key.key_type),
                );
            }
        }
    }

    fn at_most(&mut self, path: &str, what: &str, count: usize, max: usize) {
        if count > max {
            self.push(
                Severity::Aws,
                "too-many",
                path.into(),
                format!("AWS allows at most {max} {what}; there are {count}"),
            );
        }
    }
}
