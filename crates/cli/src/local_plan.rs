//! The local plan on the command line: `pipewright run FILE` on a pipeline its local settings do
//! not fully map shows the plan and asks (or takes `--yes`), and `pipewright prepare FILE` saves
//! it without running. An accepted plan is written into the settings file beside the pipeline,
//! so the next run asks nothing.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use indexmap::IndexMap;
use pipewright_api::engine::local_plan::{self, Choice, LocalPlan, PlanContext};
use pipewright_api::engine::settings::LocalSettings;
use pipewright_api::engine::settings_file;
use pipewright_api::model::{ActionCategory, PipelineDeclaration};

use crate::output::{confirm, style};

/// How the plan is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acceptance {
    /// `run`: asked on a terminal, or `--yes`; refused otherwise.
    Run { yes: bool },
    /// `prepare`: the command itself accepts it, and nothing runs.
    Prepare,
}

/// What `run` and `prepare` know of the pipeline file.
pub struct PipelineFile<'a> {
    pub file: &'a Path,
    pub pipeline: &'a PipelineDeclaration,
    /// `--settings`, when given.
    pub settings_file: Option<&'a Path>,
    /// The settings as read (None: there is no settings file).
    pub settings: Option<LocalSettings>,
}

/// The settings to run with: as they are when they map every action, else with the plan in
/// them once it is accepted (and saved).
pub fn settle(
    input: PipelineFile<'_>,
    sources: &[String],
    data_dir: &Path,
    acceptance: Acceptance,
) -> Result<Option<LocalSettings>> {
    let current = input.settings.clone().unwrap_or_default();
    let context = PlanContext {
        working_copy: current_working_copy(),
        sources: parse_sources(input.pipeline, sources)?,
        deploy_dir: data_dir.join("deploys").join(&input.pipeline.name),
        ..PlanContext::default()
    };
    let plan = local_plan::propose(input.pipeline, &current, &context);
    if !plan.missing_sources.is_empty() {
        let first = &plan.missing_sources[0];
        let why = if context.working_copy.is_none() {
            "the current directory is not in a git repository, so no source reads its working copy"
        } else {
            "the working copy of the current directory goes to the first source"
        };
        bail!(
            "{} needs a local path ({why}): give it with --source {first}=PATH (a git repository or a folder)",
            plan.missing_sources.join(", "),
        );
    }
    let settings_file = input
        .settings_file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| LocalSettings::file_for(input.file));
    if !plan.changes_settings() {
        if acceptance == Acceptance::Prepare {
            println!(
                "{} needs no plan: its local settings say how every action runs here",
                input.pipeline.name
            );
        }
        return Ok(input.settings);
    }
    show(&input.pipeline.name, &plan);
    let accepted = match acceptance {
        Acceptance::Prepare | Acceptance::Run { yes: true } => true,
        Acceptance::Run { yes: false } => {
            if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                bail!(
                    "not run: the plan above needs accepting; run again with --yes to accept it (it is saved to {}), or save it with `pipewright prepare {}`",
                    settings_file.display(),
                    input.file.display()
                );
            }
            confirm(&format!(
                "Run with this plan, and save it to {}?",
                settings_file.display()
            ))?
        }
    };
    if !accepted {
        bail!("not run: the plan was not accepted");
    }
    let planned = plan.apply(&current);
    match save(&settings_file, &plan) {
        Ok(()) => anstream::eprintln!(
            "{}Saved the plan to {}{}",
            style::DIM.render(),
            settings_file.display(),
            style::DIM.render_reset()
        ),
        // The run can go on with the plan; the user is told it will be asked again.
        Err(error) if acceptance != Acceptance::Prepare => anstream::eprintln!(
            "{}The plan is used for this run but not saved: {error}{}",
            style::WAITING.render(),
            style::WAITING.render_reset()
        ),
        Err(error) => return Err(error.into()),
    }
    Ok(Some(planned))
}

/// `--source Stage/Action=PATH`, each naming a source action of the pipeline and an existing
/// path, made absolute.
pub fn parse_sources(
    pipeline: &PipelineDeclaration,
    sources: &[String],
) -> Result<IndexMap<String, PathBuf>> {
    let mut out = IndexMap::new();
    for given in sources {
        let Some((key, path)) = given.split_once('=') else {
            bail!("--source {given}: write it as Stage/Action=PATH");
        };
        let is_source = pipeline.stages.iter().any(|stage| {
            stage.actions.iter().any(|action| {
                format!("{}/{}", stage.name, action.name) == key
                    && action.action_type_id.category == ActionCategory::Source
            })
        });
        if !is_source {
            bail!(
                "--source {given}: {key} is not a source action of {}",
                pipeline.name
            );
        }
        let path = std::fs::canonicalize(path)
            .map_err(|e| anyhow::anyhow!("--source {given}: cannot use {path}: {e}"))?;
        out.insert(key.to_owned(), path);
    }
    Ok(out)
}

/// The plan, one line an action or rule, then what to know about it; printed under a header.
pub fn plan_lines(plan: &LocalPlan) -> Vec<String> {
    let rows: Vec<(String, String, String)> = plan
        .actions
        .iter()
        .map(|a| {
            let provider = a.provider.rsplit('/').next().unwrap_or_default().to_owned();
            (a.key.clone(), provider, a.choice.describe())
        })
        .chain(plan.rules.iter().map(|r| {
            (
                r.key.clone(),
                format!("{} rule", r.provider),
                "simulated: no local evaluator, the rule passes".to_owned(),
            )
        }))
        .collect();
    let key_width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0);
    let provider_width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let mut lines: Vec<String> = rows
        .into_iter()
        .map(|(key, provider, what)| {
            format!(
                "  {key:key_width$}  {}{provider:provider_width$}{}  {what}",
                style::DIM.render(),
                style::DIM.render_reset()
            )
        })
        .collect();
    if plan
        .actions
        .iter()
        .any(|a| matches!(a.choice, Choice::Simulate { .. }))
    {
        lines.push(format!(
            "{}Simulated actions are labelled so in every view; their variables are placeholders \
             unless they come from a run on AWS.{}",
            style::DIM.render(),
            style::DIM.render_reset()
        ));
    }
    lines.extend(plan.notes.iter().map(|note| {
        format!(
            "{}Note: {note}{}",
            style::WAITING.render(),
            style::WAITING.render_reset()
        )
    }));
    lines
}

fn show(name: &str, plan: &LocalPlan) {
    anstream::eprintln!("{name} needs a local plan to run here:");
    for line in plan_lines(plan) {
        anstream::eprintln!("{line}");
    }
}

/// The top level of the git repository the current directory is in: the first source reads it.
pub fn current_working_copy() -> Option<PathBuf> {
    std::env::current_dir()
        .ok()
        .and_then(|dir| local_plan::git_top_level(&dir))
}

fn save(
    file: &Path,
    plan: &LocalPlan,
) -> Result<(), pipewright_api::engine::settings::SettingsError> {
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    settings_file::write_entries(
        file,
        &plan.entries(&dir),
        "# Pipewright's local settings: how this pipeline runs on this machine.\n\
         # Written from the plan `pipewright run` showed; change it as you like.",
    )
}
