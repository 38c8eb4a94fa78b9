//! Running a build's shell script on this machine or in its container: the script file, the
//! variables it exports, the workspace mounts shaped like CodeBuild's, and how a script's end
//! becomes an action's outcome.

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;

use super::{ActionRun, Outcome, Services, blocking};
use crate::containers::{Container, Place, RunArgs};
use crate::process::{ProcessEnd, ProcessSpec};
use crate::script::Script;
use crate::status::ActionStatus;

/// Where a container build sees the action's workspace, shaped like CodeBuild's
/// `/codebuild/output/src123456789`: the primary input is its `src`, the others `src-NAME`.
fn container_root(action_execution_id: &str) -> String {
    let digits: String = action_execution_id
        .chars()
        .filter(char::is_ascii_digit)
        .chain("000000000".chars())
        .take(9)
        .collect();
    format!("/codebuild/output/src{digits}")
}

/// Where the engine's own files for one container build (the variables file, a long script)
/// are seen inside it.
const CONTAINER_PIPEWRIGHT_DIR: &str = "/codebuild/pipewright";

/// What a script run in a container has besides the script: ignored on this machine.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct InContainer<'a> {
    /// The user the commands run as (the buildspec's `run-as`).
    pub user: Option<&'a str>,
    /// Other mounts (host folder, path inside), such as a build cache's folders.
    pub mounts: &'a [(PathBuf, String)],
}

/// Scripts longer than this run from a file instead of `sh -c`.
const MAX_SCRIPT_ARGUMENT: usize = 96 * 1024;

/// Runs a script with `shell` in `cwd` and says how it ended, with the variables it exported.
/// The variables come back through a file beside the workspace, removed before and after, so a
/// reused workspace never shows one action's variables to the next.
pub(crate) async fn run_script(
    services: &Services,
    run: &ActionRun,
    shell: &str,
    mut script: Script,
    cwd: PathBuf,
    env: Vec<(String, String)>,
    in_container: InContainer<'_>,
) -> Result<(ProcessEnd, IndexMap<String, String>), String> {
    let InContainer {
        user,
        mounts: extra_mounts,
    } = in_container;
    let variables_file = run.workspace.with_extension("variables");
    let _ = std::fs::remove_file(&variables_file);
    let container = match &run.place {
        Place::Host => None,
        Place::Container(container) => Some(container),
    };
    script.variables_file = match container {
        None => variables_file.clone(),
        // A bind-mounted file: created empty here, written through the mount in there.
        Some(_) => {
            std::fs::write(&variables_file, b"")
                .map_err(|e| format!("cannot write {}: {e}", variables_file.display()))?;
            PathBuf::from(format!("{CONTAINER_PIPEWRIGHT_DIR}/variables"))
        }
    };
    let text = script.render();
    // Small scripts go in the argument list, saving a file per action; Linux caps one argument
    // at 128 KiB, so a large buildspec goes through a file.
    let script_file =
        (text.len() > MAX_SCRIPT_ARGUMENT).then(|| run.workspace.with_extension("sh"));
    let args = match &script_file {
        Some(file) => {
            std::fs::write(file, &text)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            vec![match container {
                None => file.display().to_string(),
                Some(_) => format!("{CONTAINER_PIPEWRIGHT_DIR}/script.sh"),
            }]
        }
        None => vec!["-c".to_owned(), text],
    };
    if let Some(container) = container
        && !ensure_image(services, run, container).await?
    {
        let _ = std::fs::remove_file(&variables_file);
        return Ok((ProcessEnd::Cancelled, IndexMap::new()));
    }
    // The timeout counts from when the action's shell starts, not from when it was queued.
    let deadline_ms = run
        .timeout
        .map(|t| services.clock.now_ms() + t.as_millis() as i64);
    let name = format!("pipewright-{}", run.action_execution_id);
    let spec = match container {
        None => ProcessSpec {
            program: shell.to_owned(),
            args,
            cwd,
            env,
            deadline_ms,
        },
        Some(container) => {
            // With no input artifact the workspace itself is the primary source, `src`.
            let root = container_root(&run.action_execution_id);
            let base = if cwd == run.workspace {
                format!("{root}/src")
            } else {
                root
            };
            let host_root = run.workspace.display().to_string();
            let inside = |path: &str| match path.strip_prefix(&host_root) {
                Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{base}{rest}"),
                _ => path.to_owned(),
            };
            let workdir = inside(&cwd.display().to_string());
            // CODEBUILD_SRC_DIR and its kind name host paths; in there they name the mounts.
            let env: Vec<(String, String)> = env
                .into_iter()
                .map(|(name, value)| {
                    let value = inside(&value);
                    (name, value)
                })
                .collect();
            let mut mounts = vec![
                (host_root.clone(), base.clone()),
                (
                    variables_file.display().to_string(),
                    format!("{CONTAINER_PIPEWRIGHT_DIR}/variables"),
                ),
            ];
            if let Some(file) = &script_file {
                mounts.push((
                    file.display().to_string(),
                    format!("{CONTAINER_PIPEWRIGHT_DIR}/script.sh"),
                ));
            }
            mounts.extend(
                extra_mounts
                    .iter()
                    .map(|(host, inside)| (host.display().to_string(), inside.clone())),
            );
            let mut client_env = env.clone();
            client_env.extend(container.credential_env());
            client_env.push(("CODEBUILD_BUILD_IMAGE".to_owned(), container.image.clone()));
            let env_names = client_env.iter().map(|(n, _)| n.clone()).collect();
            ProcessSpec {
                program: container.runtime.program().to_owned(),
                args: container.run_args(RunArgs {
                    name: &name,
                    engine_id: &run.engine_id,
                    action_execution_id: &run.action_execution_id,
                    mounts,
                    workdir: &workdir,
                    env_names,
                    user,
                    shell,
                    shell_args: args,
                }),
                cwd: run.workspace.clone(),
                env: client_env,
                deadline_ms,
            }
        }
    };
    let clock = services.clock.as_ref();
    let end = crate::process::run(spec, clock, &run.log, run.cancel.clone()).await;
    // A killed client leaves its container running (conmon or the daemon keeps it): a stop or a
    // timeout removes it too. After a normal end `--rm` has removed it already.
    if let Some(container) = container
        && !matches!(end, Ok(ProcessEnd::Exited(_)))
    {
        let container = container.clone();
        let name = name.clone();
        let _ = blocking(move || container.remove(&name)).await;
    }
    let variables = read_variables(&variables_file);
    let _ = std::fs::remove_file(&variables_file);
    if let Some(file) = &script_file {
        let _ = std::fs::remove_file(file);
    }
    let program = container.map_or(shell, |c| c.runtime.program());
    let end = end.map_err(|e| format!("cannot start {program}: {e}"))?;
    Ok((end, variables))
}

/// Pulls the image on its first use, its progress in the action's log. False when the action
/// was stopped meanwhile.
async fn ensure_image(
    services: &Services,
    run: &ActionRun,
    container: &Container,
) -> Result<bool, String> {
    let present = {
        let container = container.clone();
        blocking(move || container.image_present()).await?
    };
    if present {
        return Ok(true);
    }
    run.log.note(format!(
        "Pulling the image {} with {} (first use; it is kept for the next builds)",
        container.image,
        container.runtime.program()
    ));
    let spec = ProcessSpec {
        program: container.runtime.program().to_owned(),
        args: vec!["pull".to_owned(), container.image.clone()],
        cwd: run.workspace.clone(),
        env: Vec::new(),
        deadline_ms: None,
    };
    let clock = services.clock.as_ref();
    match crate::process::run(spec, clock, &run.log, run.cancel.clone()).await {
        Ok(ProcessEnd::Exited(0)) => Ok(true),
        Ok(ProcessEnd::Cancelled) => Ok(false),
        Ok(end) => Err(format!(
            "cannot pull the image {} ({end:?}); the log above has {}'s reason",
            container.image,
            container.runtime.program()
        )),
        Err(e) => Err(format!("cannot start {}: {e}", container.runtime.program())),
    }
}

/// Reads the NUL-separated NAME=VALUE records the script wrote for exported variables.
fn read_variables(path: &std::path::Path) -> IndexMap<String, String> {
    let Ok(bytes) = std::fs::read(path) else {
        return IndexMap::new();
    };
    String::from_utf8_lossy(&bytes)
        .split('\0')
        .filter_map(|record| record.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// The failure outcome for a script that did not end well.
pub(crate) fn script_failure(end: ProcessEnd, timeout: Option<Duration>) -> Outcome {
    match end {
        ProcessEnd::Exited(code) => Outcome::failed(
            "CommandFailed",
            format!("A command exited with status {code}"),
        ),
        ProcessEnd::Signalled(signal) => Outcome::failed(
            "CommandFailed",
            format!("The shell was killed by signal {signal}"),
        ),
        ProcessEnd::TimedOut => Outcome::failed(
            "ActionTimedOut",
            format!(
                "The action ran longer than its timeout of {} minutes and was killed",
                timeout.map(|t| t.as_secs() / 60).unwrap_or(0)
            ),
        ),
        ProcessEnd::Cancelled => {
            let mut outcome = Outcome::failed(
                "Abandoned",
                "The action was abandoned and its processes killed",
            );
            outcome.status = ActionStatus::Abandoned;
            outcome
        }
    }
}
