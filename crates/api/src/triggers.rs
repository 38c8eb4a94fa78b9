//! Local triggers, watched. One look reads the branches and tags of every repository a
//! pipeline's sources map to, and starts what the changes since the last look call for
//! (`engine::triggers` decides, as CodePipeline would), with the commit that changed as the
//! source's revision. `pipewright watch` and the app look every couple of seconds.
//!
//! What has been seen is kept in the store (`trigger_refs`), claimed change by change, so several
//! watchers of one data directory start each execution once, and a watcher that was not running
//! acts on what changed meanwhile. The first look at a source only records what is there.

use std::collections::HashMap;

use indexmap::IndexMap;
use pipewright_engine::SourceRevision;
use pipewright_engine::git;
use pipewright_engine::triggers::{self, GitChange, Watched};
use pipewright_store as db;
use serde::Serialize;

use crate::{Error, Pipewright, Result};

/// What one look found.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Look {
    /// Executions started.
    pub started: Vec<TriggeredStart>,
    /// Changes that started nothing, each with why.
    pub ignored: Vec<String>,
    /// Sources looked at for the first time: what they start on, and where their repository is.
    pub first_seen: Vec<String>,
    /// What does not start anything here, and repositories that could not be read.
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggeredStart {
    pub pipeline: String,
    pub execution_id: String,
    pub trigger_type: String,
    pub trigger_detail: String,
}

/// The row that marks a source as watched; its commit_id is the repository it was watched in.
const WATCHED: &str = "";

impl Pipewright {
    /// Looks at the sources of `names` (every stored pipeline when empty) and starts what their
    /// changes since the last look call for. A pipeline that cannot be read or started is a
    /// note; the others are still looked at.
    pub async fn look_for_triggers(&self, names: &[String]) -> Result<Look> {
        let names = if names.is_empty() {
            self.list_pipelines()
                .await?
                .pipelines
                .into_iter()
                .map(|p| p.name)
                .collect()
        } else {
            names.to_vec()
        };
        let mut look = Look::default();
        for name in names {
            let (declaration, settings, _) = match self.pipeline_version(&name, None).await {
                Ok(version) => version,
                Err(error) => {
                    look.notes.push(format!("{name}: {}", error.message));
                    continue;
                }
            };
            let (watched, notes) = triggers::watched_sources(&declaration, &settings);
            look.notes
                .extend(notes.into_iter().map(|note| format!("{name}: {note}")));
            for source in watched {
                if let Err(error) = self.look_at(&name, &declaration, &source, &mut look).await {
                    look.notes
                        .push(format!("{name}: {}: {}", source.key, error.message));
                }
            }
        }
        Ok(look)
    }

    async fn look_at(
        &self,
        pipeline: &str,
        declaration: &pipewright_model::PipelineDeclaration,
        source: &Watched,
        look: &mut Look,
    ) -> Result<()> {
        let repo = source.repo.display().to_string();
        // What was seen, read before the repository: a change another watcher claims in between
        // is then seen by this one as already claimed, never as a change back.
        let mut conn = self.conn().await?;
        let mut seen: HashMap<String, String> = db::seen_refs(&mut conn, pipeline, &source.action)
            .await?
            .into_iter()
            .collect();
        drop(conn);
        let refs = git::refs(&source.repo)
            .await
            .map_err(|message| Error::new("SourceNotFound", message))?;
        let first = seen.remove(WATCHED).as_deref() != Some(repo.as_str());
        if first {
            // A source looked at for the first time (or in another repository than before):
            // what is there is recorded, and starts nothing.
            let mut tx = self.store().write().await?;
            db::forget_refs(&mut tx, pipeline, &source.action).await?;
            db::claim_ref(&mut tx, pipeline, &source.action, WATCHED, None, &repo).await?;
            for (reference, commit) in &refs {
                db::claim_ref(&mut tx, pipeline, &source.action, reference, None, commit).await?;
            }
            tx.commit()
                .await
                .map_err(|e| Error::new("StoreError", e.to_string()))?;
            look.first_seen.push(format!(
                "{pipeline}: {} in {repo} ({})",
                source.key,
                describe_rule(&source.rule)
            ));
            return Ok(());
        }
        let rule = match &source.rule {
            triggers::StartRule::Branch(None) => {
                triggers::StartRule::Branch(git::head_branch(&source.repo).await)
            }
            rule => rule.clone(),
        };
        for (reference, commit) in &refs {
            let before = seen.get(reference).map(String::as_str);
            if before == Some(commit.as_str()) {
                continue;
            }
            let change = if let Some(branch) = reference.strip_prefix("refs/heads/") {
                // The files since the commit seen before; when that commit is gone (a force
                // push, then gc), the new commit's own.
                let files = match git::changed_files(&source.repo, before, commit).await {
                    Ok(files) => files,
                    Err(_) => git::changed_files(&source.repo, None, commit)
                        .await
                        .map_err(|message| Error::new("SourceNotFound", message))?,
                };
                GitChange::Push {
                    branch: branch.to_owned(),
                    commit: commit.clone(),
                    files,
                }
            } else if let Some(tag) = reference.strip_prefix("refs/tags/") {
                GitChange::Tag {
                    tag: tag.to_owned(),
                    commit: commit.clone(),
                }
            } else {
                continue;
            };
            if !self
                .claim(pipeline, source, reference, before, commit)
                .await?
            {
                continue;
            }
            let short = commit.get(..7).unwrap_or(commit);
            if !triggers::starts(&rule, &change) {
                look.ignored.push(format!(
                    "{pipeline}: {reference} at {short}{}: {} does not start on it ({})",
                    changed_files(&change),
                    source.key,
                    match &rule {
                        triggers::StartRule::Branch(Some(branch)) =>
                            format!("it starts on {branch}"),
                        triggers::StartRule::Branch(None) => {
                            "it starts on the branch its repository has checked out, and none is"
                                .to_owned()
                        }
                        triggers::StartRule::Filters(_) => {
                            "no push filter of its trigger accepts it".to_owned()
                        }
                    }
                ));
                continue;
            }
            let (kind, detail) = triggers::trigger_of(declaration, source, &change);
            let revision = SourceRevision {
                revision: commit.clone(),
                branch: match &change {
                    GitChange::Push { branch, .. } => Some(branch.clone()),
                    GitChange::Tag { .. } => None,
                },
            };
            let revisions = IndexMap::from([(source.action.clone(), revision)]);
            match self
                .start_with(
                    pipeline,
                    &IndexMap::new(),
                    None,
                    &revisions,
                    Some((kind, &detail)),
                )
                .await
            {
                Ok(execution_id) => look.started.push(TriggeredStart {
                    pipeline: pipeline.to_owned(),
                    execution_id,
                    trigger_type: kind.to_owned(),
                    trigger_detail: detail,
                }),
                Err(error) => look.ignored.push(format!(
                    "{pipeline}: {reference} at {short} would start it, but it cannot start: {}",
                    error.message
                )),
            }
        }
        let gone: Vec<(&String, &String)> = seen
            .iter()
            .filter(|(reference, _)| !refs.iter().any(|(r, _)| r == *reference))
            .collect();
        if !gone.is_empty() {
            let mut tx = self.store().write().await?;
            for (reference, commit) in gone {
                db::forget_ref(&mut tx, pipeline, &source.action, reference, commit).await?;
            }
            tx.commit()
                .await
                .map_err(|e| Error::new("StoreError", e.to_string()))?;
        }
        Ok(())
    }

    /// Takes a change for this watcher; false when another one took it first.
    async fn claim(
        &self,
        pipeline: &str,
        source: &Watched,
        reference: &str,
        before: Option<&str>,
        commit: &str,
    ) -> Result<bool> {
        let mut tx = self.store().write().await?;
        let claimed =
            db::claim_ref(&mut tx, pipeline, &source.action, reference, before, commit).await?;
        tx.commit()
            .await
            .map_err(|e| Error::new("StoreError", e.to_string()))?;
        Ok(claimed)
    }
}

/// The files a push changed, a few of them, for the line that says why it started nothing.
fn changed_files(change: &GitChange) -> String {
    let GitChange::Push { files, .. } = change else {
        return String::new();
    };
    let shown: Vec<&str> = files.iter().take(3).map(String::as_str).collect();
    let more = files.len().saturating_sub(shown.len());
    match (shown.is_empty(), more) {
        (true, _) => " (no files changed)".to_owned(),
        (false, 0) => format!(" (changed {})", shown.join(", ")),
        (false, more) => format!(" (changed {} and {more} more)", shown.join(", ")),
    }
}

fn describe_rule(rule: &triggers::StartRule) -> String {
    match rule {
        triggers::StartRule::Branch(Some(branch)) => format!("starts on new commits of {branch}"),
        triggers::StartRule::Branch(None) => {
            "starts on new commits of the branch its repository has checked out".to_owned()
        }
        triggers::StartRule::Filters(filters) => format!(
            "starts as its trigger's {} push filter{} say{}",
            filters.len(),
            if filters.len() == 1 { "" } else { "s" },
            if filters.len() == 1 { "s" } else { "" }
        ),
    }
}
