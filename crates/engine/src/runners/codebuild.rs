//! CodeBuild actions run their buildspec here, without containers: the phases in one shell in a
//! working copy of the primary input artifact, with the buildspec's variables, exported
//! variables and artifacts section honoured.

use std::path::PathBuf;

use pipewright_artifacts::Selection;
use pipewright_model::buildspec::{self, Buildspec};

use super::{ActionRun, Outcome, Services, Sources, ingest_outputs, run_script, script_failure};
use crate::process::ProcessEnd;
use crate::script::{OnFailure, Phase, Script};

pub async fn run(services: &Services, run: &ActionRun) -> Outcome {
    let sources = match Sources::check_out(services, run).await {
        Ok(sources) => sources,
        Err(message) => return Outcome::failed("ArtifactError", message),
    };
    let outcome = build(services, run, &sources).await;
    sources.release();
    outcome
}

fn load_buildspec(run: &ActionRun, sources: &Sources) -> Result<Buildspec, String> {
    let path = match run.settings.as_ref().and_then(|s| s.buildspec.clone()) {
        Some(path) => path,
        None => sources.primary.join("buildspec.yml"),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("cannot read the buildspec {}: {e} (name another one with `buildspec:` in the local settings)", path.display())
    })?;
    run.log.note(format!("Buildspec {}", path.display()));
    buildspec::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

async fn build(services: &Services, run: &ActionRun, sources: &Sources) -> Outcome {
    let spec = match load_buildspec(run, sources) {
        Ok(spec) => spec,
        Err(message) => return Outcome::failed("InvalidBuildspec", message),
    };
    let mut env = run.env.clone();
    env.extend(sources.env.iter().cloned());
    env.extend(
        spec.env
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    // The action's EnvironmentVariables configuration overrides the buildspec, as on CodeBuild.
    if let Some(json) = run.action.config("EnvironmentVariables") {
        match serde_json::from_str::<Vec<serde_json::Value>>(json) {
            Ok(list) => env.extend(list.iter().filter_map(|v| {
                Some((
                    v.get("name")?.as_str()?.to_owned(),
                    v.get("value")?.as_str()?.to_owned(),
                ))
            })),
            Err(error) => {
                return Outcome::failed(
                    "InvalidConfiguration",
                    format!("EnvironmentVariables is not a JSON list of {{name, value}}: {error}"),
                );
            }
        }
    }
    for name in spec
        .env
        .parameter_store
        .keys()
        .chain(spec.env.secrets_manager.keys())
    {
        run.log.note(format!("{name} comes from Parameter Store or Secrets Manager, which the local engine cannot read; it is left unset"));
    }
    let script = Script {
        phases: spec
            .phases_in_order()
            .into_iter()
            .map(|(name, phase)| Phase {
                name: name.to_owned(),
                commands: phase.commands.clone(),
                finally: phase.finally.clone(),
                on_failure: match phase.on_failure {
                    buildspec::OnFailure::Continue => OnFailure::Continue,
                    _ => OnFailure::Abort,
                },
            })
            .collect(),
        exported_variables: spec.env.exported_variables.clone(),
        // Set by run_script.
        variables_file: PathBuf::new(),
    };
    let shell = spec.env.shell.clone().unwrap_or_else(|| "sh".to_owned());
    let (end, variables) =
        match run_script(services, run, &shell, script, sources.primary.clone(), env).await {
            Ok(ended) => ended,
            Err(message) => return Outcome::failed("CommandFailed", message),
        };
    if end != ProcessEnd::Exited(0) {
        return script_failure(end, run.timeout);
    }
    let selections = match selections(run, &spec) {
        Ok(selections) => selections,
        Err(message) => return Outcome::failed("InvalidBuildspec", message),
    };
    let mut outcome = Outcome::succeeded(None);
    match ingest_outputs(services, run, &sources.primary, selections).await {
        Ok(outputs) => outcome.outputs = outputs,
        Err(message) => return Outcome::failed("ArtifactError", message),
    }
    outcome.variables = variables;
    outcome
}

/// The first output artifact is the buildspec's primary `artifacts`; the others are its
/// `secondary-artifacts` of the same name, as on CodeBuild.
fn selections(run: &ActionRun, spec: &Buildspec) -> Result<Vec<(String, Selection)>, String> {
    let mut out = Vec::new();
    for (index, output) in run.action.outputs().iter().enumerate() {
        let section = if index == 0 {
            spec.artifacts.as_ref()
        } else {
            spec.artifacts
                .as_ref()
                .and_then(|a| a.secondary_artifacts.get(&output.name))
        };
        let Some(section) = section else {
            return Err(format!(
                "the action outputs {} but the buildspec has no {} artifacts section for it",
                output.name,
                if index == 0 { "primary" } else { "secondary" }
            ));
        };
        let selection = Selection::globs(
            section.files.clone(),
            section.base_directory.clone(),
            section.discard_paths,
            section.exclude_paths.clone(),
        )
        .map_err(|e| format!("artifacts of {}: {e}", output.name))?;
        out.push((output.name.clone(), selection));
    }
    Ok(out)
}
