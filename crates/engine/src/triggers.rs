//! Local triggers: which changes in a source's git repository start a pipeline, as CodePipeline
//! decides it. A V2 pipeline's `triggers` give, per source action, push filters on branches,
//! tags and file paths (glob patterns; excludes win over includes; the criteria of one filter
//! all hold; any one filter is enough); a pipeline without triggers starts on every new commit
//! of its source's branch, unless the source turns change detection off (`DetectChanges:
//! false`). Pull-request filters have nothing to react to locally, and are named.
//!
//! Pure: the watcher (in `api`) reads the repositories and the store.

use std::path::PathBuf;

use globset::GlobBuilder;
use pipewright_model::{ActionCategory, GitPushFilter, IncludeExclude, PipelineDeclaration};

use crate::runners::{RunnerKind, runner_for};
use crate::settings::LocalSettings;

/// A change a watcher saw in a source's repository.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GitChange {
    /// A branch moved to (or appeared at) `commit`, changing `files`.
    Push {
        branch: String,
        commit: String,
        files: Vec<String>,
    },
    /// A tag appeared (or moved) at `commit`.
    Tag { tag: String, commit: String },
}

impl GitChange {
    pub fn commit(&self) -> &str {
        match self {
            GitChange::Push { commit, .. } | GitChange::Tag { commit, .. } => commit,
        }
    }

    /// The ref as git names it.
    pub fn reference(&self) -> String {
        match self {
            GitChange::Push { branch, .. } => format!("refs/heads/{branch}"),
            GitChange::Tag { tag, .. } => format!("refs/tags/{tag}"),
        }
    }
}

/// What starts the pipeline for one source.
#[derive(Clone, Debug, PartialEq)]
pub enum StartRule {
    /// The push filters of the V2 trigger on this source.
    Filters(Vec<GitPushFilter>),
    /// Any new commit of this branch: no triggers, change detection on. None: the action names
    /// no branch, so the one the repository has checked out (as the source reads it).
    Branch(Option<String>),
}

/// A source action the watcher looks at.
#[derive(Clone, Debug, PartialEq)]
pub struct Watched {
    /// The source action's name (what `sourceRevisions` and triggers name).
    pub action: String,
    /// `Stage/Action`.
    pub key: String,
    /// The repository the local settings map it to.
    pub repo: PathBuf,
    pub rule: StartRule,
}

/// The sources of a pipeline that start it here, and notes on what does not (a trigger with
/// only pull-request filters, a source with no repository).
pub fn watched_sources(
    pipeline: &PipelineDeclaration,
    settings: &LocalSettings,
) -> (Vec<Watched>, Vec<String>) {
    let mut watched = Vec::new();
    let mut notes = Vec::new();
    let triggers = pipeline.triggers.as_deref().unwrap_or_default();
    for stage in &pipeline.stages {
        for action in &stage.actions {
            if action.action_type_id.category != ActionCategory::Source
                || runner_for(action, None) != Some(RunnerKind::GitSource)
            {
                continue;
            }
            let key = format!("{}/{}", stage.name, action.name);
            let trigger = triggers
                .iter()
                .find(|t| t.git_configuration.source_action_name == action.name);
            let rule = match trigger {
                Some(trigger) => {
                    let config = &trigger.git_configuration;
                    if config.pull_request.as_ref().is_some_and(|p| !p.is_empty()) {
                        notes.push(format!(
                            "{key}: its pull-request trigger does not fire locally (there are no pull requests here)"
                        ));
                    }
                    match &config.push {
                        Some(push) if !push.is_empty() => StartRule::Filters(push.clone()),
                        _ => continue,
                    }
                }
                // With triggers for other sources only, this one starts nothing (AWS: a
                // trigger configuration turns the default change detection off).
                None if !triggers.is_empty() => continue,
                None if action
                    .config("DetectChanges")
                    .is_some_and(|v| v.eq_ignore_ascii_case("false")) =>
                {
                    notes.push(format!(
                        "{key}: DetectChanges is false, so new commits do not start the pipeline"
                    ));
                    continue;
                }
                None => StartRule::Branch(
                    action
                        .config("BranchName")
                        .or(action.config("Branch"))
                        .map(str::to_owned),
                ),
            };
            let repo = settings
                .action(&stage.name, &action.name)
                .and_then(|s| s.path.clone());
            match repo {
                Some(repo) => watched.push(Watched {
                    action: action.name.clone(),
                    key,
                    repo,
                    rule,
                }),
                None => notes.push(format!(
                    "{key}: no repository on this machine (map it with `path:` in the local settings)"
                )),
            }
        }
    }
    (watched, notes)
}

/// Whether a change starts the pipeline under `rule`.
pub fn starts(rule: &StartRule, change: &GitChange) -> bool {
    match (rule, change) {
        (StartRule::Branch(wanted), GitChange::Push { branch, .. }) => {
            wanted.as_ref() == Some(branch)
        }
        (StartRule::Branch(_), GitChange::Tag { .. }) => false,
        (StartRule::Filters(filters), change) => filters.iter().any(|f| filter_accepts(f, change)),
    }
}

/// One push filter: its criteria all hold. A tags filter is about tags, a branches filter
/// (with or without file paths) about pushes to branches.
fn filter_accepts(filter: &GitPushFilter, change: &GitChange) -> bool {
    match change {
        GitChange::Tag { tag, .. } => filter
            .tags
            .as_ref()
            .is_some_and(|tags| criteria_accept(tags, tag)),
        GitChange::Push { branch, files, .. } => {
            if filter.tags.is_some() {
                return false;
            }
            let branch_ok = filter
                .branches
                .as_ref()
                .is_none_or(|branches| criteria_accept(branches, branch));
            let files_ok = filter
                .file_paths
                .as_ref()
                .is_none_or(|paths| files.iter().any(|file| criteria_accept(paths, file)));
            branch_ok && files_ok
        }
    }
}

/// Includes and excludes: no exclude matches, and an include does (or none are given).
fn criteria_accept(criteria: &IncludeExclude, value: &str) -> bool {
    let any = |patterns: &Option<Vec<String>>| {
        patterns
            .iter()
            .flatten()
            .any(|pattern| glob_matches(pattern, value))
    };
    if any(&criteria.excludes) {
        return false;
    }
    match &criteria.includes {
        Some(includes) if !includes.is_empty() => any(&criteria.includes),
        _ => true,
    }
}

/// CodePipeline's glob syntax: `*` within a path segment, `**` across them, `?`, `[...]` and
/// `{a,b}`. A pattern that does not parse matches nothing.
fn glob_matches(pattern: &str, value: &str) -> bool {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .is_ok_and(|glob| glob.compile_matcher().is_match(value))
}

/// How the execution a change starts is reported (`trigger.triggerType` and `triggerDetail`):
/// WebhookV2 for a V2 trigger, as AWS reports executions its triggers start, and Webhook for
/// change detection without triggers (CloudWatchEvent for CodeCommit, which AWS detects with
/// an EventBridge rule); the detail names the ref and the commit.
pub fn trigger_of(
    pipeline: &PipelineDeclaration,
    watched: &Watched,
    change: &GitChange,
) -> (&'static str, String) {
    let provider = pipeline
        .find_action(&watched.action)
        .map(|(_, a)| a.action_type_id.provider.as_str());
    let kind = match (&watched.rule, provider) {
        (StartRule::Filters(_), _) => "WebhookV2",
        (StartRule::Branch(_), Some("CodeCommit")) => "CloudWatchEvent",
        (StartRule::Branch(_), _) => "Webhook",
    };
    (kind, format!("{}@{}", change.reference(), change.commit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(json: serde_json::Value) -> StartRule {
        StartRule::Filters(serde_json::from_value(json).expect("push filters"))
    }

    fn push(branch: &str, files: &[&str]) -> GitChange {
        GitChange::Push {
            branch: branch.to_owned(),
            commit: "c1".to_owned(),
            files: files.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    fn tag(name: &str) -> GitChange {
        GitChange::Tag {
            tag: name.to_owned(),
            commit: "c1".to_owned(),
        }
    }

    #[test]
    fn branches_match_as_globs_where_star_stays_within_a_segment() {
        let rule = filters(
            serde_json::json!([{"branches": {"includes": ["main", "release/*", "hotfix/**"]}}]),
        );
        assert!(starts(&rule, &push("main", &["a"])));
        assert!(starts(&rule, &push("release/1.0", &["a"])));
        assert!(
            !starts(&rule, &push("release/1.0/rc", &["a"])),
            "* does not cross /"
        );
        assert!(starts(&rule, &push("hotfix/a/b", &["a"])));
        assert!(!starts(&rule, &push("feature/x", &["a"])));
        assert!(
            !starts(&rule, &tag("main")),
            "a branches filter is not about tags"
        );
    }

    #[test]
    fn excludes_win_and_file_paths_need_one_changed_file_that_passes() {
        let rule = filters(serde_json::json!([{
            "branches": {"includes": ["**"], "excludes": ["wip/**"]},
            "filePaths": {"includes": ["src/**", "*.md"], "excludes": ["src/generated/**"]}
        }]));
        assert!(starts(&rule, &push("main", &["src/app.rs"])));
        assert!(starts(&rule, &push("main", &["README.md"])));
        assert!(
            !starts(&rule, &push("main", &["docs/guide.md"])),
            "*.md stays at the top"
        );
        assert!(!starts(&rule, &push("main", &["src/generated/api.rs"])));
        assert!(starts(
            &rule,
            &push("main", &["src/generated/api.rs", "src/app.rs"])
        ));
        assert!(!starts(&rule, &push("wip/try", &["src/app.rs"])));
        assert!(
            !starts(&rule, &push("main", &[])),
            "nothing changed under the paths"
        );
    }

    #[test]
    fn tags_filters_are_about_tags_and_any_filter_is_enough() {
        let rule = filters(serde_json::json!([
            {"tags": {"includes": ["v*"], "excludes": ["v*-rc*"]}},
            {"branches": {"includes": ["main"]}}
        ]));
        assert!(starts(&rule, &tag("v1.2.0")));
        assert!(!starts(&rule, &tag("v1.3.0-rc1")));
        assert!(!starts(&rule, &tag("nightly")));
        assert!(starts(&rule, &push("main", &["x"])));
        assert!(!starts(&rule, &push("v1.2.0", &["x"])));
        let only_excludes = filters(serde_json::json!([{"branches": {"excludes": ["main"]}}]));
        assert!(starts(&only_excludes, &push("feature", &["x"])));
        assert!(!starts(&only_excludes, &push("main", &["x"])));
    }

    #[test]
    fn without_triggers_a_source_starts_on_its_branch_unless_detection_is_off() {
        let pipeline: PipelineDeclaration = serde_json::from_value(serde_json::json!({
            "name": "p", "stages": [{"name": "Source", "actions": [
                {"name": "App", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                 "configuration": {"BranchName": "trunk"}, "outputArtifacts": [{"name": "A"}]},
                {"name": "Quiet", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                 "configuration": {"BranchName": "main", "DetectChanges": "False"}, "outputArtifacts": [{"name": "B"}]},
                {"name": "Repo", "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
                 "configuration": {"BranchName": "main"}, "outputArtifacts": [{"name": "C"}]}
            ]}]
        }))
        .expect("pipeline");
        let settings = LocalSettings::parse(
            "actions:\n  Source/App: {path: /repo}\n  Source/Quiet: {path: /quiet}\n",
            "s.yaml",
            std::path::Path::new("/"),
        )
        .expect("settings");
        let (watched, notes) = watched_sources(&pipeline, &settings);
        assert_eq!(watched.len(), 1);
        assert_eq!(watched[0].rule, StartRule::Branch(Some("trunk".to_owned())));
        assert!(notes[0].contains("DetectChanges is false"), "{notes:?}");
        assert!(
            notes[1].starts_with("Source/Repo: no repository"),
            "{notes:?}"
        );
        let change = push("trunk", &["a"]);
        assert!(starts(&watched[0].rule, &change));
        assert_eq!(
            trigger_of(&pipeline, &watched[0], &change),
            ("Webhook", "refs/heads/trunk@c1".to_owned())
        );
    }
}
