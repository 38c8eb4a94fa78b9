//! The `Commands` action (category Compute, V2), and any action the local settings map to
//! commands: the commands run in one shell in a working copy of the first input artifact;
//! `outputArtifacts[].files` choose what is kept and `outputVariables` are read from the shell's
//! environment when it ends.

use std::path::PathBuf;

use pipewright_artifacts::Selection;

use super::{
    ActionRun, InContainer, Outcome, Services, Sources, ingest_outputs, run_script, script_failure,
};
use crate::process::ProcessEnd;
use crate::script::{OnFailure, Phase, Script};

pub async fn run(services: &Services, run: &ActionRun, commands: &[String]) -> Outcome {
    let sources = match Sources::check_out(services, run).await {
        Ok(sources) => sources,
        Err(message) => return Outcome::failed("ArtifactError", message),
    };
    let outcome = run_in(services, run, commands, &sources).await;
    sources.release();
    outcome
}

async fn run_in(
    services: &Services,
    run: &ActionRun,
    commands: &[String],
    sources: &Sources,
) -> Outcome {
    let script = Script {
        phases: vec![Phase {
            name: "BUILD".to_owned(),
            commands: commands.to_vec(),
            finally: Vec::new(),
            on_failure: OnFailure::Abort,
        }],
        exported_variables: run.action.output_variables().to_vec(),
        // Set by run_script.
        variables_file: PathBuf::new(),
        shell_per_command: false,
    };
    run.log.note(format!("Running on {}", run.place.describe()));
    let mut env = run.env.clone();
    env.extend(sources.env.iter().cloned());
    let (end, variables) = match run_script(
        services,
        run,
        "sh",
        script,
        sources.primary.clone(),
        env,
        InContainer::default(),
    )
    .await
    {
        Ok(ended) => ended,
        Err(message) => return Outcome::failed("CommandFailed", message),
    };
    if end != ProcessEnd::Exited(0) {
        return script_failure(end, run.timeout);
    }
    let mut selections = Vec::new();
    for output in run.action.outputs() {
        let patterns = output
            .files
            .clone()
            .unwrap_or_else(|| vec!["**/*".to_owned()]);
        match Selection::globs(patterns, None, false, Vec::new()) {
            Ok(selection) => selections.push((output.name.clone(), selection)),
            Err(error) => {
                return Outcome::failed(
                    "ArtifactError",
                    format!("output artifact {}: {error}", output.name),
                );
            }
        }
    }
    let mut outcome = Outcome::succeeded(None);
    match ingest_outputs(services, run, &sources.primary, selections).await {
        Ok(outputs) => outcome.outputs = outputs,
        Err(message) => return Outcome::failed("ArtifactError", message),
    }
    outcome.variables = variables;
    outcome
}
