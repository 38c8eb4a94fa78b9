//! Build environments: where a CodeBuild or Commands action runs, this machine or an OCI
//! container, and how a container build is started, stopped and cleaned up.
//!
//! Containers are driven through the runtime's own command line (`podman` or `docker`), not its
//! HTTP API. Podman has no daemon unless its socket service is started, and both CLIs take the
//! same `run` flags, so one code path serves both, and the client process is an ordinary child
//! of the engine: its output streams through the same pipes as a host build's, and the
//! engine's kill-the-process-group rules reach it. What a killed client leaves behind (the
//! container itself, kept by conmon or the Docker daemon) is removed by name, and after a crash
//! by label.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

/// The label every build container carries with the id of the engine that started it, so crash
/// recovery finds the containers of a dead engine.
pub const ENGINE_LABEL: &str = "pipewright.engine";
/// The label with the action execution's id.
pub const ACTION_LABEL: &str = "pipewright.action-execution";

/// The settings-wide `environment:` of the local settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BuildEnvironmentSettings {
    /// The image CodeBuild and Commands actions run in; none (or `host`) runs them here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// CodeBuild's privileged mode for every container build.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub privileged: bool,
    /// Which runtime starts containers; by default podman if installed, else docker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<ContainerRuntime>,
    /// Which AWS credentials a container build gets; none unless this says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_credentials: Option<AwsCredentials>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerRuntime {
    Podman,
    Docker,
}

/// How a container build is handed AWS credentials. Either way the values travel in the
/// runtime's environment (`-e NAME`), never on its command line, in a log or in the database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum AwsCredentials {
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` of this process.
    Environment,
    /// A profile of `~/.aws`, mounted read-only, with `AWS_PROFILE` set to it.
    Profile(String),
}

/// The credential variables passed with `AwsCredentials::Environment`.
const AWS_CREDENTIAL_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

impl ContainerRuntime {
    pub fn program(self) -> &'static str {
        match self {
            ContainerRuntime::Podman => "podman",
            ContainerRuntime::Docker => "docker",
        }
    }

    fn installed(self) -> bool {
        let program = self.program();
        std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| is_executable(&dir.join(program)))
        })
    }

    /// The runtime named, if installed; else the first installed one (podman, then docker).
    pub fn choose(named: Option<ContainerRuntime>) -> Result<ContainerRuntime, String> {
        match named {
            Some(runtime) if runtime.installed() => Ok(runtime),
            Some(runtime) => Err(format!(
                "the local settings name the container runtime {0}, and {0} is not installed",
                runtime.program()
            )),
            None => [ContainerRuntime::Podman, ContainerRuntime::Docker]
                .into_iter()
                .find(|runtime| runtime.installed())
                .ok_or_else(|| {
                    "this build runs in a container image, and neither podman nor docker is \
                     installed; install one, or run on this machine with `pipewright run --host`"
                        .to_owned()
                }),
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Where one action runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Place {
    #[default]
    Host,
    Container(Container),
}

impl Place {
    /// What every view says of where the action ran.
    pub fn describe(&self) -> String {
        match self {
            Place::Host => "this machine".to_owned(),
            Place::Container(container) => format!(
                "image {} ({}{})",
                container.image,
                container.runtime.program(),
                if container.privileged {
                    ", privileged"
                } else {
                    ""
                }
            ),
        }
    }
}

/// A container build's environment, settled before the action starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Container {
    pub image: String,
    pub privileged: bool,
    pub runtime: ContainerRuntime,
    pub aws_credentials: Option<AwsCredentials>,
}

/// Where an action that runs commands runs: the action's own `image:`, else (for CodeBuild and
/// Commands actions) the settings-wide `environment:`, else this machine. `host_only` is
/// `pipewright run --host`.
pub fn place_for(
    image: Option<&str>,
    privileged: Option<bool>,
    defaults: Option<&BuildEnvironmentSettings>,
    all: &BuildEnvironmentSettings,
    host_only: bool,
) -> Result<Place, String> {
    let image = image.or(defaults.and_then(|d| d.image.as_deref()));
    let Some(image) = image.filter(|image| !host_only && *image != "host") else {
        return Ok(Place::Host);
    };
    Ok(Place::Container(Container {
        image: image.to_owned(),
        privileged: privileged.unwrap_or(all.privileged),
        runtime: ContainerRuntime::choose(all.runtime)?,
        aws_credentials: all.aws_credentials.clone(),
    }))
}

/// Where an action runs: CodeBuild and Commands actions in the action's image or the
/// settings-wide one; commands the settings map an action to in the action's own image only; the
/// rest, and everything under `--host`, on this machine. None for actions that run no commands
/// (they run in the engine itself); an error when an image is asked for and no runtime is here.
pub fn place_of_action(
    action: &pipewright_model::Action,
    settings: Option<&crate::settings::ActionSettings>,
    all: &BuildEnvironmentSettings,
    host_only: bool,
) -> Result<Option<Place>, String> {
    use crate::runners::{RunnerKind, runner_for};
    let defaults = match runner_for(action, settings) {
        Some(RunnerKind::CodeBuild | RunnerKind::Commands) => Some(all),
        Some(RunnerKind::MappedCommands) => None,
        _ => return Ok(None),
    };
    let image = settings.and_then(|s| s.image.as_deref());
    let privileged = settings.and_then(|s| s.privileged);
    place_for(image, privileged, defaults, all, host_only).map(Some)
}

/// Everything `run` needs to start one build container.
#[derive(Debug)]
pub struct RunArgs<'a> {
    pub name: &'a str,
    pub engine_id: &'a str,
    pub action_execution_id: &'a str,
    /// Host path and container path, read-write.
    pub mounts: Vec<(String, String)>,
    pub workdir: &'a str,
    /// Variables passed by name: their values come from the runtime client's environment.
    pub env_names: Vec<String>,
    pub user: Option<&'a str>,
    pub shell: &'a str,
    pub shell_args: Vec<String>,
}

impl Container {
    /// The runtime's arguments for `run`.
    pub fn run_args(&self, args: RunArgs<'_>) -> Vec<String> {
        let mut out = vec![
            "run".to_owned(),
            "--rm".to_owned(),
            "--name".to_owned(),
            args.name.to_owned(),
            "--label".to_owned(),
            format!("{ENGINE_LABEL}={}", args.engine_id),
            "--label".to_owned(),
            format!("{ACTION_LABEL}={}", args.action_execution_id),
            "--workdir".to_owned(),
            args.workdir.to_owned(),
        ];
        for (host, container) in &args.mounts {
            out.push("--volume".to_owned());
            out.push(format!("{host}:{container}"));
        }
        let mut names = args.env_names;
        match &self.aws_credentials {
            Some(AwsCredentials::Environment) => {
                names.extend(AWS_CREDENTIAL_VARIABLES.iter().map(|n| (*n).to_owned()));
            }
            Some(AwsCredentials::Profile(_)) => {
                names.push("AWS_PROFILE".to_owned());
                if let Some(home) = std::env::var_os("HOME") {
                    out.push("--volume".to_owned());
                    out.push(format!("{}/.aws:/root/.aws:ro", Path::new(&home).display()));
                }
            }
            None => {}
        }
        for name in names {
            out.push("--env".to_owned());
            out.push(name);
        }
        if self.privileged {
            out.push("--privileged".to_owned());
        }
        if let Some(user) = args.user {
            out.push("--user".to_owned());
            out.push(user.to_owned());
        }
        // The image's own entrypoint would wrap (or replace) the build's shell.
        out.push("--entrypoint".to_owned());
        out.push(args.shell.to_owned());
        out.push(self.image.clone());
        out.extend(args.shell_args);
        out
    }

    /// The variables the runtime client needs in its own environment for the credentials.
    pub fn credential_env(&self) -> Vec<(String, String)> {
        match &self.aws_credentials {
            Some(AwsCredentials::Profile(profile)) => {
                vec![("AWS_PROFILE".to_owned(), profile.clone())]
            }
            _ => Vec::new(),
        }
    }

    /// Whether the image is already here; `inspect` works the same in both runtimes.
    pub fn image_present(&self) -> bool {
        quiet(self.runtime.program(), &["image", "inspect", &self.image])
    }

    /// Removes the container, stopping it first; a container that is gone already is fine.
    pub fn remove(&self, name: &str) {
        quiet(self.runtime.program(), &["rm", "--force", name]);
    }
}

/// Removes every container a dead engine left, in every installed runtime. Returns how many.
pub fn remove_containers_of(engine_id: &str) -> usize {
    let mut removed = 0;
    for runtime in [ContainerRuntime::Podman, ContainerRuntime::Docker] {
        if !runtime.installed() {
            continue;
        }
        let Ok(listed) = Command::new(runtime.program())
            .args([
                "ps",
                "--all",
                "--quiet",
                "--filter",
                &format!("label={ENGINE_LABEL}={engine_id}"),
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
        else {
            continue;
        };
        let ids: Vec<String> = String::from_utf8_lossy(&listed.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if ids.is_empty() {
            continue;
        }
        let mut args = vec!["rm".to_owned(), "--force".to_owned()];
        args.extend(ids.iter().cloned());
        let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
        if quiet(runtime.program(), &arg_refs) {
            removed += ids.len();
        }
    }
    removed
}

fn quiet(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(credentials: Option<AwsCredentials>) -> Container {
        Container {
            image: "localhost/build:1".to_owned(),
            privileged: true,
            runtime: ContainerRuntime::Podman,
            aws_credentials: credentials,
        }
    }

    fn args(container: &Container) -> Vec<String> {
        container.run_args(RunArgs {
            name: "pipewright-a1",
            engine_id: "e1",
            action_execution_id: "a1",
            mounts: vec![("/w/x".to_owned(), "/codebuild/output/src1".to_owned())],
            workdir: "/codebuild/output/src1/src",
            env_names: vec!["SECRET".to_owned()],
            user: Some("builder"),
            shell: "bash",
            shell_args: vec!["-c".to_owned(), "make".to_owned()],
        })
    }

    #[test]
    fn values_never_reach_the_command_line_and_the_shell_replaces_the_entrypoint() {
        let args = args(&container(Some(AwsCredentials::Environment)));
        let text = args.join(" ");
        assert!(text.contains("--env SECRET "), "{text}");
        assert!(text.contains("--env AWS_SECRET_ACCESS_KEY "), "{text}");
        assert!(!args.iter().any(|arg| arg.contains("SECRET=")), "{text}");
        assert!(text.contains("--label pipewright.engine=e1"), "{text}");
        assert!(
            text.contains(
                "--privileged --user builder --entrypoint bash localhost/build:1 -c make"
            ),
            "{text}"
        );
    }

    #[test]
    fn no_credentials_unless_asked() {
        let text = args(&container(None)).join(" ");
        assert!(!text.contains("AWS_"), "{text}");
        let profile = container(Some(AwsCredentials::Profile("dev".to_owned())));
        let text = args(&profile).join(" ");
        assert!(text.contains("--env AWS_PROFILE"), "{text}");
        assert!(text.contains("/.aws:/root/.aws:ro"), "{text}");
        assert_eq!(
            profile.credential_env(),
            [("AWS_PROFILE".to_owned(), "dev".to_owned())]
        );
    }

    #[test]
    fn host_unless_an_image_is_given_and_host_only_wins() {
        let all = BuildEnvironmentSettings::default();
        assert_eq!(
            place_for(None, None, Some(&all), &all, false),
            Ok(Place::Host)
        );
        assert_eq!(
            place_for(Some("host"), None, None, &all, false),
            Ok(Place::Host)
        );
        assert_eq!(
            place_for(Some("img"), None, None, &all, true),
            Ok(Place::Host)
        );
    }
}
