//! CodeBuild actions run their buildspec as CodeBuild does: in the build image the local settings
//! name (or on this machine), in a working copy of the primary input artifact, with the
//! buildspec's variables, exported variables and artifacts section honoured. Whatever the
//! buildspec asks that no local build does is written to the log before the first command.

use std::path::PathBuf;

use pipewright_artifacts::Selection;
use pipewright_model::buildspec::batch::Batch;
use pipewright_model::buildspec::{self, Buildspec};

use super::{
    ActionRun, InContainer, Outcome, Services, Sources, batch, build_cache, build_reports,
    ingest_outputs, run_script, script_failure,
};
use crate::containers::Place;
use crate::process::ProcessEnd;
use crate::script::{OnFailure, Phase, Script};
use crate::settings::{ProjectVariable, StoredReference};
use crate::stored_values::Store;

pub async fn run(services: &Services, run: &ActionRun) -> Outcome {
    let sources = match Sources::check_out(services, run).await {
        Ok(sources) => sources,
        Err(message) => return Outcome::failed("ArtifactError", message),
    };
    let outcome = match load_buildspec(run, &sources) {
        Err(message) => Outcome::failed("InvalidBuildspec", message),
        Ok(spec) => match batch_of(run, &spec) {
            Err(message) => Outcome::failed("InvalidBuildspec", message),
            Ok(Some(batch)) => {
                // Each build checks out its own copy; this one was only for the buildspec.
                sources.release();
                return batch::run(services, run, &spec, batch).await;
            }
            Ok(None) => build(services, run, &sources, &spec, &[]).await,
        },
    };
    sources.release();
    outcome
}

fn load_buildspec(run: &ActionRun, sources: &Sources) -> Result<Buildspec, String> {
    let settings = run.settings.as_ref();
    let path = match (
        settings.and_then(|s| s.buildspec.clone()),
        settings.and_then(|s| s.source_buildspec.as_deref()),
    ) {
        (Some(path), _) => path,
        (None, Some(in_source)) => in_source_path(&sources.primary, in_source)?,
        (None, None) => sources.primary.join("buildspec.yml"),
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("cannot read the buildspec {}: {e} (name another one with `buildspec:` in the local settings)", path.display())
    })?;
    run.log.note(format!("Buildspec {}", path.display()));
    buildspec::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A buildspec in the primary source (a batch build's own `buildspec`).
pub(super) fn load_in_source(
    run: &ActionRun,
    sources: &Sources,
    path: &str,
) -> Result<Buildspec, String> {
    let path = in_source_path(&sources.primary, path)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the buildspec {}: {e}", path.display()))?;
    run.log.note(format!("Buildspec {}", path.display()));
    buildspec::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// A CodeBuild project's buildspec path, relative to the primary source as CodeBuild reads it;
/// one that leaves the source is refused rather than read from elsewhere on this machine.
fn in_source_path(primary: &std::path::Path, in_source: &str) -> Result<PathBuf, String> {
    let relative = std::path::Path::new(in_source);
    let inside = relative.components().all(|c| {
        matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    });
    if !inside {
        return Err(format!(
            "the project's buildspec {in_source} is not a path inside the primary source \
             (CodeBuild reads it relative to CODEBUILD_SRC_DIR)"
        ));
    }
    Ok(primary.join(relative))
}

/// Runs one build of `spec` in `sources`; `overrides` (a batch build's variables) come last.
pub(super) async fn build(
    services: &Services,
    run: &ActionRun,
    sources: &Sources,
    spec: &Buildspec,
    overrides: &[(String, String)],
) -> Outcome {
    run.log.note(format!(
        "Buildspec version {}, running on {}",
        spec.version.as_str(),
        run.place.describe()
    ));
    // The action's EnvironmentVariables configuration overrides the buildspec, as on CodeBuild.
    let configured = match configured_variables(run) {
        Ok(configured) => configured,
        Err(message) => return Outcome::failed("InvalidConfiguration", message),
    };
    let buildspec_stored = spec
        .env
        .parameter_store
        .iter()
        .map(|(name, reference)| (name, Store::ParameterStore, reference))
        .chain(
            spec.env
                .secrets_manager
                .iter()
                .map(|(name, reference)| (name, Store::SecretsManager, reference)),
        );
    let mut env = run.env.clone();
    env.extend(sources.env.iter().cloned());
    env.extend(
        spec.env
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    let mut notes = local_notes(run, spec);
    // Each variable in order of precedence, the later overriding the earlier: the buildspec's,
    // the project's, then the action's. A stored one with no value here is unset, as the note
    // says, whatever came before it.
    let buildspec_stored = buildspec_stored.map(|(name, store, reference)| {
        (
            name.clone(),
            Configured::Stored(store, reference.clone()),
            "/env",
        )
    });
    let project = project_variables(run)
        .map(|(name, value)| (name, value, "the project's environmentVariables"));
    let action = configured
        .into_iter()
        .map(|(name, value)| (name, value, "EnvironmentVariables"));
    let batch = overrides
        .iter()
        .map(|(name, value)| (name.clone(), Configured::Plain(value.clone()), "batch"));
    for (name, value, from) in buildspec_stored.chain(project).chain(action).chain(batch) {
        env.retain(|(set, _)| *set != name);
        match value {
            Configured::Plain(value) => env.push((name, value)),
            Configured::Stored(store, reference) => {
                env.extend(stored_variable(run, &mut notes, &name, store, &reference, from).await)
            }
        }
    }
    for line in notes {
        run.log.note(line);
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
        shell_per_command: spec.version == buildspec::Version::V0_1,
    };
    let shell = spec.env.shell.clone().unwrap_or_else(|| "sh".to_owned());
    // A container build runs as the buildspec's user; on this machine, as Pipewright's (noted).
    let user = match run.place {
        Place::Container(_) => spec.run_as.as_deref(),
        Place::Host => None,
    };
    let cache = match &spec.cache {
        Some(cache) => {
            build_cache::restore(&services.cache_dir, run, cache, &sources.primary, &env).await
        }
        None => None,
    };
    let mounts = cache.as_ref().map(|c| c.mounts()).unwrap_or_default();
    let (end, variables) = match run_script(
        services,
        run,
        &shell,
        script,
        sources.primary.clone(),
        env,
        InContainer {
            user,
            mounts: &mounts,
        },
    )
    .await
    {
        Ok(ended) => ended,
        Err(message) => return Outcome::failed("CommandFailed", message),
    };
    if let Some(cache) = cache
        && end == ProcessEnd::Exited(0)
    {
        build_cache::save(run, cache, &sources.primary).await;
    }
    // Reports are read whether the build passed or not, as CodeBuild reads them.
    let reports = build_reports::read(run, spec, &sources.primary).await;
    let mut outcome = finish(services, run, spec, sources, end, variables).await;
    outcome.reports = reports;
    outcome
}

/// The build's outcome once its commands ended: its artifacts and exported variables.
async fn finish(
    services: &Services,
    run: &ActionRun,
    spec: &Buildspec,
    sources: &Sources,
    end: ProcessEnd,
    variables: indexmap::IndexMap<String, String>,
) -> Outcome {
    if end != ProcessEnd::Exited(0) {
        return script_failure(end, run.timeout);
    }
    let selections = match selections(run, spec) {
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

/// The batch to run: CodeBuild reads `batch` only when the action enables batch builds, and
/// ignores it otherwise.
fn batch_of(run: &ActionRun, spec: &Buildspec) -> Result<Option<Batch>, String> {
    let enabled = run
        .action
        .config("BatchEnabled")
        .is_some_and(|value| value.eq_ignore_ascii_case("true"));
    match (&spec.batch, enabled) {
        (Some(Ok(batch)), true) => Ok(Some(batch.clone())),
        (Some(Err(why)), true) => Err(format!("the buildspec's batch section: {why}")),
        (None, true) => Err(
            "the action sets BatchEnabled, and the buildspec has no batch section; CodeBuild \
             fails such a build too"
                .to_owned(),
        ),
        (Some(_), false) if spec.phases_in_order().is_empty() => Err(
            "the buildspec has only a batch section, and the action does not set BatchEnabled: \
             \"true\", so CodeBuild runs no batch and there are no phases to run"
                .to_owned(),
        ),
        (Some(_), false) => {
            run.log.note(
                "The buildspec's batch section is ignored: the action does not set BatchEnabled, \
                 and CodeBuild ignores it too",
            );
            Ok(None)
        }
        (None, false) => Ok(None),
    }
}

/// A value of the action's `EnvironmentVariables`: as written, or a reference to a stored one.
enum Configured {
    Plain(String),
    Stored(Store, String),
}

/// The CodeBuild project's environment variables, as the local settings give them (`pull`
/// writes them from the project).
fn project_variables(run: &ActionRun) -> impl Iterator<Item = (String, Configured)> + '_ {
    run.settings
        .iter()
        .flat_map(|s| s.environment_variables.iter())
        .map(|(name, variable)| {
            let value = match variable {
                ProjectVariable::Plain(value) => Configured::Plain(value.clone()),
                ProjectVariable::Stored(StoredReference::ParameterStore(name)) => {
                    Configured::Stored(Store::ParameterStore, name.clone())
                }
                ProjectVariable::Stored(StoredReference::SecretsManager(reference)) => {
                    Configured::Stored(Store::SecretsManager, reference.clone())
                }
            };
            (name.clone(), value)
        })
}

/// The action's `EnvironmentVariables`: a JSON list of `{name, value, type}`, where the type is
/// PLAINTEXT (the default), PARAMETER_STORE or SECRETS_MANAGER (the value names the stored one).
fn configured_variables(run: &ActionRun) -> Result<Vec<(String, Configured)>, String> {
    let Some(json) = run.action.config("EnvironmentVariables") else {
        return Ok(Vec::new());
    };
    let list = serde_json::from_str::<Vec<serde_json::Value>>(json).map_err(|error| {
        format!("EnvironmentVariables is not a JSON list of {{name, value}}: {error}")
    })?;
    let mut out = Vec::new();
    for (index, item) in list.iter().enumerate() {
        let field = |key: &str| item.get(key).and_then(serde_json::Value::as_str);
        let (Some(name), Some(value)) = (field("name"), field("value")) else {
            return Err(format!(
                "EnvironmentVariables[{index}] needs a name and a value, both strings"
            ));
        };
        let value = match field("type").unwrap_or("PLAINTEXT") {
            "PLAINTEXT" => Configured::Plain(value.to_owned()),
            "PARAMETER_STORE" => Configured::Stored(Store::ParameterStore, value.to_owned()),
            "SECRETS_MANAGER" => Configured::Stored(Store::SecretsManager, value.to_owned()),
            other => {
                return Err(format!(
                    "EnvironmentVariables[{index}] ({name}) has type {other}; CodeBuild's types \
                     are PLAINTEXT, PARAMETER_STORE and SECRETS_MANAGER"
                ));
            }
        };
        out.push((name.to_owned(), value));
    }
    Ok(out)
}

/// A variable whose value lives in Parameter Store or Secrets Manager, from the local settings
/// (or AWS, when they ask): masked in the log when found, named in `notes` (left unset) when not.
async fn stored_variable(
    run: &ActionRun,
    notes: &mut Vec<String>,
    name: &str,
    store: Store,
    reference: &str,
    from: &str,
) -> Option<(String, String)> {
    match run.stored.value(store, reference).await {
        Ok((value, origin)) => {
            run.log.mask(&value);
            notes.push(format!(
                "{name} is {reference} from {}: {} (masked here)",
                store.as_str(),
                origin.describe()
            ));
            Some((name.to_owned(), value))
        }
        Err(why) => {
            notes.push(format!(
                "Not done locally: {from}: {name} comes from {} ({reference}); {why}, so it is \
                 left unset (give it in the local settings' {})",
                store.as_str(),
                match store {
                    Store::ParameterStore => "parameterStore",
                    Store::SecretsManager => "secretsManager",
                }
            ));
            None
        }
    }
}

/// Log lines, written before the first command, for what the buildspec asks that this build does
/// not do, and for what it asks of the environment.
fn local_notes(run: &ActionRun, spec: &Buildspec) -> Vec<String> {
    let mut out: Vec<String> = spec
        .not_done_locally
        .iter()
        .map(|not_done| format!("Not done locally: {}: {}", not_done.path, not_done.note))
        .collect();
    let in_container = matches!(run.place, Place::Container(_));
    if let Some(user) = &spec.run_as
        && !in_container
    {
        out.push(format!(
            "Not done locally: /run-as: commands run as this machine's user, not as {user}; \
             give the action an image to run them as {user}"
        ));
    }
    for (name, phase) in spec.phases_in_order() {
        if let Some(user) = &phase.run_as {
            out.push(format!(
                "Not done locally: /phases/{}/run-as: the phase runs as the build's user, not \
                 as {user}",
                name.to_ascii_lowercase()
            ));
        }
        for (runtime, version) in &phase.runtime_versions {
            out.push(runtime_note(runtime, version, in_container));
        }
    }
    out
}

/// What `runtime-versions` asks for, and what there is. An image provides its runtimes as it
/// has them (CodeBuild's own images switch versions; other images have what they have); on this
/// machine the runtime's usual command is looked up.
fn runtime_note(runtime: &str, version: &str, in_container: bool) -> String {
    if in_container {
        return format!(
            "runtime-versions asks for {runtime} {version}; the image provides the {runtime} it has"
        );
    }
    let command = match runtime {
        "python" => "python3",
        "nodejs" => "node",
        "golang" => "go",
        "java" => "java",
        "ruby" => "ruby",
        "php" => "php",
        "dotnet" => "dotnet",
        "docker" => "docker",
        other => other,
    };
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(command))
            .find(|candidate| candidate.is_file())
    });
    match found {
        Some(path) => format!(
            "runtime-versions asks for {runtime} {version}; this machine has {} (its own version)",
            path.display()
        ),
        None => {
            format!("runtime-versions asks for {runtime} {version}; this machine has no {command}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_buildspec_is_read_inside_the_primary_source_only() {
        let primary = std::path::Path::new("/work/src");
        assert_eq!(
            in_source_path(primary, "ci/buildspec.yml"),
            Ok(PathBuf::from("/work/src/ci/buildspec.yml"))
        );
        for outside in ["../buildspec.yml", "/etc/buildspec.yml", "ci/../../x.yml"] {
            let refused = in_source_path(primary, outside).expect_err(outside);
            assert!(
                refused.contains("not a path inside the primary source"),
                "{refused}"
            );
        }
    }
}
