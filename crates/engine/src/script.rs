//! Shell scripts for CodeBuild-style phases.
//!
//! Both CodePipeline `Commands` actions (one phase) and CodeBuild buildspecs (up to four phases)
//! run as one generated POSIX `sh` script in one shell process, because in buildspec 0.2 every
//! command of every phase shares a single shell instance: a `cd` or `export` in one command is
//! seen by the next. The script is plain text generation here; the caller writes it to a file and
//! runs it. It works under dash (Debian's `/bin/sh`) and bash.
//!
//! How the script behaves, following CodeBuild:
//!
//! - Phases run in order, each framed by `[Container] Entering phase NAME` and
//!   `[Container] Phase complete: NAME State: SUCCEEDED|FAILED`. Every command is logged as
//!   `[Container] Running command ...` and run with `eval` in the script's own shell, so its
//!   output goes straight to the script's stdout and stderr. The log lines go to stdout.
//! - The first failing command of a phase stops that phase's remaining commands; the phase's
//!   `finally` commands then still run, and a failing `finally` command fails the phase too.
//! - A phase failing with on-failure ABORT skips the phases after it, except that a failed BUILD
//!   still runs POST_BUILD. With CONTINUE the next phases run, but the build still fails.
//! - `CODEBUILD_BUILD_SUCCEEDING` is exported as 1 and becomes 0 at the first failure.
//! - At the end the exported variables that are set are written to the variables file as
//!   NUL-separated `NAME=VALUE` records, and the script exits with the first failing command's
//!   status, or 0 when everything succeeded.
//!
//! An explicit `exit N` in a command cannot be intercepted portably: `exit` is a special
//! built-in, so a shell function cannot shadow it under dash, and running each command in a
//! subshell would lose the shared-shell semantics. The script therefore lets `exit` end the shell
//! and relies on an `EXIT` trap, which logs that the command ended the shell, reports the phase,
//! writes the variables file and keeps the exit status: the command's own, or the status of an
//! earlier failure when there was one. The same trap covers a command that turned on `set -e`.
//! A command that installs its own `EXIT` trap replaces Pipewright's; the variables file is still
//! written when the script reaches its normal end, just not after an early `exit`.
//!
//! The caller must run the script from a file (`sh /path/to/script`), not feed it on stdin,
//! because a command reading stdin would otherwise consume the rest of the script; stdin should
//! be `/dev/null`. The variables file path should be absolute, because commands may `cd`.
//!
//! Per-command overhead is a handful of shell built-ins (`[`, `printf`, `eval` and a function
//! call), with no extra processes, so thousands of trivial commands stay cheap.

use std::fmt::Write as _;
use std::path::PathBuf;

/// One phase of commands, named as CodeBuild names them (`INSTALL`, `PRE_BUILD`, `BUILD`,
/// `POST_BUILD`) or as the caller likes for a `Commands` action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase {
    pub name: String,
    pub commands: Vec<String>,
    pub finally: Vec<String>,
    pub on_failure: OnFailure,
}

/// What a failed phase does to the phases after it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OnFailure {
    /// Skip the phases after this one (a failed `BUILD` still runs `POST_BUILD`).
    #[default]
    Abort,
    /// Run the next phases as if this one had succeeded; the build still fails.
    Continue,
}

/// A whole script: the phases in order, the variables to hand back, and where to write them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    pub phases: Vec<Phase>,
    /// Names whose values are written to `variables_file` at the end. Names that are not valid
    /// shell variable names (see [`is_valid_variable_name`]) are left out, because the shell could
    /// not have set them and they cannot be embedded in a parameter expansion safely.
    pub exported_variables: Vec<String>,
    pub variables_file: PathBuf,
    /// Buildspec version 0.1: every command runs in a shell of its own (a subshell), so a `cd`
    /// or an `export` does not carry over to the next command. Version 0.2 and Commands actions
    /// share one shell.
    pub shell_per_command: bool,
}

/// The phase after which a failed ABORT phase still lets the next phase run: CodeBuild runs
/// POST_BUILD after a failed BUILD so that clean-up and notifications happen.
const BUILD: &str = "BUILD";
const POST_BUILD: &str = "POST_BUILD";

/// The fixed part of every script. Internal names start with `_pw_` to stay out of the way of the
/// commands' own variables.
///
/// - `_pw_status`: the first failing command's exit status, 0 while nothing has failed.
/// - `_pw_abort`: 0, or 1 when every later phase is skipped, or 2 when only POST_BUILD may run.
/// - `_pw_phase_ok` / `_pw_block_ok`: whether the current phase, and the current block of it
///   (commands or finally), have had no failure yet.
/// - `_pw_done`: set once the script has reached its end, so the EXIT trap knows that it was not
///   an early `exit`.
const PRELUDE: &str = r#"_pw_status=0
_pw_abort=0
_pw_phase=''
_pw_phase_ok=1
_pw_block_ok=1
_pw_cmd=''
_pw_done=0
CODEBUILD_BUILD_SUCCEEDING=1
export CODEBUILD_BUILD_SUCCEEDING

# Called after every command with its exit status. It must end with a command that succeeds, so
# that it is harmless when a command has turned on `set -e`.
_pw_check() {
  if [ "$1" -ne 0 ]; then
    printf '[Container] Command did not exit successfully %s exit status %s\n' "$_pw_cmd" "$1"
    _pw_phase_ok=0
    _pw_block_ok=0
    if [ "$_pw_status" -eq 0 ]; then _pw_status=$1; fi
    CODEBUILD_BUILD_SUCCEEDING=0
  fi
  :
}

_pw_phase_end() {
  if [ "$_pw_phase_ok" = 1 ]; then
    printf '[Container] Phase complete: %s State: SUCCEEDED\n' "$_pw_phase"
  else
    printf '[Container] Phase complete: %s State: FAILED\n' "$_pw_phase"
  fi
  _pw_phase=''
}

_pw_skip() {
  printf '[Container] Phase %s skipped: an earlier phase failed\n' "$1"
}

# Runs when the shell exits for any reason. At the normal end it has nothing left to do; after an
# explicit `exit` in a command (or `set -e`) it finishes the log, writes the variables file and
# keeps the exit status meaningful.
_pw_on_exit() {
  _pw_exit=$?
  if [ "$_pw_done" != 1 ]; then
    _pw_done=1
    printf '[Container] Command ended the shell %s exit status %s\n' "$_pw_cmd" "$_pw_exit"
    if [ "$_pw_exit" -ne 0 ]; then
      _pw_phase_ok=0
      if [ "$_pw_status" -eq 0 ]; then _pw_status=$_pw_exit; fi
    fi
    if [ -n "$_pw_phase" ]; then _pw_phase_end; fi
    printf '[Container] The remaining commands and phases did not run\n'
    _pw_write_variables
    if [ "$_pw_status" -ne 0 ]; then _pw_exit=$_pw_status; fi
  fi
  exit "$_pw_exit"
}
trap '_pw_on_exit' EXIT
"#;

impl Script {
    /// The script's text. Every command string is embedded in single quotes, so it runs exactly
    /// as written whatever quotes, backslashes, `$`, newlines or `#{...}` it contains.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096 + self.command_bytes() * 2);
        out.push_str(
            "#!/bin/sh\n# Generated by Pipewright: CodeBuild-style phases in one shell.\n",
        );
        out.push_str(&format!(
            "_pw_variables_file={}\n",
            quote(&self.variables_file.to_string_lossy())
        ));
        out.push_str(PRELUDE);
        self.render_write_variables(&mut out);
        for phase in &self.phases {
            render_phase(&mut out, phase, self.shell_per_command);
        }
        out.push_str(
            "\n# The normal end: the EXIT trap sees _pw_done=1 and only passes the status on.\n\
             _pw_write_variables\n\
             _pw_done=1\n\
             exit \"$_pw_status\"\n",
        );
        out
    }

    fn command_bytes(&self) -> usize {
        self.phases
            .iter()
            .flat_map(|p| p.commands.iter().chain(&p.finally))
            .map(String::len)
            .sum()
    }

    /// `${NAME+x}` tells set from unset (an empty value is kept), and `printf '%s=%s\0'` writes
    /// values with newlines, `=` and quotes unchanged; shell variables cannot hold NUL, so NUL is a
    /// safe separator.
    fn render_write_variables(&self, out: &mut String) {
        // Nothing to export, no file: an action that exports nothing should not pay for creating
        // and deleting one (the benchmark runs a thousand of them).
        if !self
            .exported_variables
            .iter()
            .any(|n| is_valid_variable_name(n))
        {
            out.push_str("\n_pw_write_variables() { :; }\n");
            return;
        }
        out.push_str("\n_pw_write_variables() {\n  {\n");
        for name in &self.exported_variables {
            if is_valid_variable_name(name) {
                let _ = writeln!(
                    out,
                    "    if [ -n \"${{{name}+x}}\" ]; then printf '%s=%s\\0' '{name}' \"${name}\"; fi"
                );
            }
        }
        // `:` keeps the group non-empty when no listed variable is set, so the file is still
        // written (empty).
        out.push_str("    :\n  } > \"$_pw_variables_file\"\n}\n");
    }
}

fn render_phase(out: &mut String, phase: &Phase, shell_per_command: bool) {
    let name = quote(&phase.name);
    // POST_BUILD runs after a failed BUILD; every other phase is skipped by any abort.
    let skip_test = if phase.name == POST_BUILD {
        "[ \"$_pw_abort\" = 1 ]"
    } else {
        "[ \"$_pw_abort\" != 0 ]"
    };
    // The comment only helps a human reading the script; a newline in it would end the comment.
    let _ = write!(
        out,
        "\n# Phase {comment}\n\
         if {skip_test}; then\n  _pw_skip {name}\nelse\n  _pw_phase={name}\n  \
         printf '[Container] Entering phase %s\\n' \"$_pw_phase\"\n  _pw_phase_ok=1\n  _pw_block_ok=1\n",
        comment = phase.name.replace(['\n', '\r'], " "),
    );
    render_commands(out, &phase.commands, shell_per_command);
    if !phase.finally.is_empty() {
        out.push_str(
            "  # finally: runs whether the commands above failed or not.\n  _pw_block_ok=1\n",
        );
        render_commands(out, &phase.finally, shell_per_command);
    }
    out.push_str("  _pw_phase_end\n");
    if phase.on_failure == OnFailure::Abort {
        let abort = if phase.name == BUILD { 2 } else { 1 };
        let _ = writeln!(
            out,
            "  if [ \"$_pw_phase_ok\" != 1 ]; then _pw_abort={abort}; fi"
        );
    }
    out.push_str("fi\n");
}

fn render_commands(out: &mut String, commands: &[String], shell_per_command: bool) {
    // A subshell is a shell of its own for everything 0.1 promises: its directory, variables and
    // `exit` end with it.
    let run = if shell_per_command {
        "(command eval \"$_pw_cmd\")"
    } else {
        "command eval \"$_pw_cmd\""
    };
    for command in commands {
        // `command eval` rather than `eval`: a syntax error in a special built-in such as `eval`
        // makes a non-interactive POSIX shell exit, while through `command` it is an ordinary
        // failure with status 2, as it would be for a command run on its own.
        let _ = write!(
            out,
            "  if [ \"$_pw_block_ok\" = 1 ]; then\n    _pw_cmd={}\n    \
             printf '[Container] Running command %s\\n' \"$_pw_cmd\"\n    \
             {run}\n    _pw_check $?\n  fi\n",
            quote(command)
        );
    }
}

/// `text` as one single-quoted shell word: inside single quotes nothing is special except the
/// closing quote, which is written as `'\''` (close, escaped quote, reopen).
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// Whether `name` is a POSIX shell variable name: a letter or underscore, then letters, digits
/// and underscores. Only such names can be set by commands and exported back.
pub fn is_valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::process::{Command, Stdio};

    /// The result of really running a rendered script.
    struct Run {
        status: i32,
        stdout: String,
        stderr: String,
        /// `None` when the variables file was not written.
        variables: Option<Vec<(String, String)>>,
    }

    impl Run {
        /// The `[Container]` log lines, in order.
        fn log(&self) -> Vec<&str> {
            self.stdout
                .lines()
                .filter(|line| line.starts_with("[Container] "))
                .collect()
        }

        fn variables(&self) -> Vec<(&str, &str)> {
            self.variables
                .as_ref()
                .expect("the variables file is written")
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()))
                .collect()
        }
    }

    fn phase(name: &str, commands: &[&str]) -> Phase {
        Phase {
            name: name.to_owned(),
            commands: commands.iter().map(|c| (*c).to_owned()).collect(),
            finally: Vec::new(),
            on_failure: OnFailure::Abort,
        }
    }

    /// The shells the script must work under: `sh` (dash on Debian) always, bash when installed.
    fn shells() -> Vec<&'static str> {
        let mut shells = vec!["sh"];
        let bash = Command::new("bash")
            .args(["-c", "true"])
            .stderr(Stdio::null())
            .status();
        if bash.is_ok_and(|status| status.success()) {
            shells.push("bash");
        }
        shells
    }

    fn run_in(shell: &str, phases: Vec<Phase>, exported: &[&str]) -> Run {
        run_with(shell, phases, exported, false)
    }

    fn run_with(
        shell: &str,
        phases: Vec<Phase>,
        exported: &[&str],
        shell_per_command: bool,
    ) -> Run {
        let dir = tempfile::tempdir().expect("tempdir");
        let work = dir.path().join("work");
        std::fs::create_dir(&work).expect("work dir");
        let variables_file = dir.path().join("variables");
        let script = Script {
            phases,
            exported_variables: exported.iter().map(|n| (*n).to_owned()).collect(),
            variables_file: variables_file.clone(),
            shell_per_command,
        };
        let script_path = dir.path().join("script.sh");
        std::fs::write(&script_path, script.render()).expect("write script");
        let output = Command::new(shell)
            .arg(&script_path)
            .current_dir(&work)
            .stdin(Stdio::null())
            .output()
            .expect("run the script");
        Run {
            status: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
            variables: read_variables(&variables_file),
        }
    }

    /// Runs the script under every shell, checks that they agree, and returns the `sh` run.
    fn run_all(phases: Vec<Phase>, exported: &[&str]) -> Run {
        let mut runs = shells()
            .into_iter()
            .map(|shell| (shell, run_in(shell, phases.clone(), exported)));
        let (_, first) = runs.next().expect("sh");
        for (shell, other) in runs {
            assert_eq!(other.status, first.status, "{shell} exit status");
            assert_eq!(other.stdout, first.stdout, "{shell} stdout");
            assert_eq!(other.variables, first.variables, "{shell} variables");
        }
        first
    }

    fn read_variables(path: &Path) -> Option<Vec<(String, String)>> {
        let bytes = std::fs::read(path).ok()?;
        let text = String::from_utf8(bytes).expect("utf-8 variables");
        let records = text
            .strip_suffix('\0')
            .map(|t| t.split('\0').collect())
            .unwrap_or_else(|| {
                assert!(text.is_empty(), "records end with NUL: {text:?}");
                Vec::new()
            });
        Some(
            records
                .into_iter()
                .map(|record| {
                    let (name, value) = record.split_once('=').expect("NAME=VALUE");
                    (name.to_owned(), value.to_owned())
                })
                .collect(),
        )
    }

    #[test]
    fn with_a_shell_per_command_nothing_carries_over_and_exit_ends_one_command() {
        for shell in shells() {
            let run = run_with(
                shell,
                vec![phase(
                    "BUILD",
                    &[
                        "mkdir sub && cd sub",
                        "export A=exported",
                        "basename \"$PWD\"",
                        "echo \"A=${A:-unset}\"",
                        "exit 0",
                        "echo still running",
                    ],
                )],
                &[],
                true,
            );
            assert_eq!(run.status, 0, "{shell}: {}{}", run.stdout, run.stderr);
            let output: Vec<&str> = run
                .stdout
                .lines()
                .filter(|l| !l.starts_with("[Container]"))
                .collect();
            assert_eq!(output, ["work", "A=unset", "still running"], "{shell}");
        }
    }

    #[test]
    fn environment_and_directory_persist_across_commands_and_phases() {
        let run = run_all(
            vec![
                phase(
                    "INSTALL",
                    &["mkdir sub && cd sub", "export A=exported", "B=plain"],
                ),
                phase(
                    "BUILD",
                    &[
                        "basename \"$PWD\"",
                        "echo \"$A $B\"",
                        "sh -c 'echo child=$A succeeding=$CODEBUILD_BUILD_SUCCEEDING'",
                    ],
                ),
            ],
            &[],
        );
        assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
        let output: Vec<&str> = run
            .stdout
            .lines()
            .filter(|l| !l.starts_with("[Container]"))
            .collect();
        assert_eq!(
            output,
            ["sub", "exported plain", "child=exported succeeding=1"]
        );
        assert!(
            run.variables.is_none(),
            "nothing to export, so no variables file is written"
        );
    }

    #[test]
    fn log_lines_appear_in_order_around_the_output() {
        let mut build = phase("BUILD", &["echo built", "false", "echo never"]);
        build.finally = vec!["echo tidy".to_owned()];
        let run = run_all(vec![phase("INSTALL", &["echo installed"]), build], &[]);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(
            lines,
            [
                "[Container] Entering phase INSTALL",
                "[Container] Running command echo installed",
                "installed",
                "[Container] Phase complete: INSTALL State: SUCCEEDED",
                "[Container] Entering phase BUILD",
                "[Container] Running command echo built",
                "built",
                "[Container] Running command false",
                "[Container] Command did not exit successfully false exit status 1",
                "[Container] Running command echo tidy",
                "tidy",
                "[Container] Phase complete: BUILD State: FAILED",
            ]
        );
        assert_eq!(run.status, 1);
    }

    #[test]
    fn a_failed_build_still_runs_post_build_with_succeeding_0() {
        let run = run_all(
            vec![
                phase("BUILD", &["echo one", "sh -c 'exit 7'", "echo not-run"]),
                phase(
                    "POST_BUILD",
                    &["echo \"succeeding=$CODEBUILD_BUILD_SUCCEEDING\""],
                ),
            ],
            &[],
        );
        assert_eq!(run.status, 7);
        assert!(!run.stdout.contains("not-run"), "{}", run.stdout);
        assert!(run.stdout.contains("\nsucceeding=0\n"), "{}", run.stdout);
        assert_eq!(
            run.log()
                .into_iter()
                .filter(|l| l.contains("Phase complete"))
                .collect::<Vec<_>>(),
            [
                "[Container] Phase complete: BUILD State: FAILED",
                "[Container] Phase complete: POST_BUILD State: SUCCEEDED",
            ]
        );
    }

    #[test]
    fn a_failed_install_skips_every_later_phase() {
        let run = run_all(
            vec![
                phase("INSTALL", &["sh -c 'exit 4'"]),
                phase("PRE_BUILD", &["echo pre"]),
                phase("BUILD", &["echo build"]),
                phase("POST_BUILD", &["echo post"]),
            ],
            &[],
        );
        assert_eq!(run.status, 4);
        assert_eq!(
            run.log(),
            [
                "[Container] Entering phase INSTALL",
                "[Container] Running command sh -c 'exit 4'",
                "[Container] Command did not exit successfully sh -c 'exit 4' exit status 4",
                "[Container] Phase complete: INSTALL State: FAILED",
                "[Container] Phase PRE_BUILD skipped: an earlier phase failed",
                "[Container] Phase BUILD skipped: an earlier phase failed",
                "[Container] Phase POST_BUILD skipped: an earlier phase failed",
            ]
        );
    }

    #[test]
    fn continue_runs_the_next_phases_but_the_build_fails() {
        let mut install = phase("INSTALL", &["false", "echo not-run"]);
        install.on_failure = OnFailure::Continue;
        let run = run_all(
            vec![
                install,
                phase(
                    "PRE_BUILD",
                    &["echo \"pre succeeding=$CODEBUILD_BUILD_SUCCEEDING\""],
                ),
                phase("BUILD", &["echo build"]),
            ],
            &[],
        );
        assert_eq!(run.status, 1);
        assert!(!run.stdout.contains("not-run"), "{}", run.stdout);
        assert!(
            run.stdout.contains("\npre succeeding=0\n"),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("\nbuild\n"), "{}", run.stdout);
        assert!(
            run.stdout
                .contains("Phase complete: BUILD State: SUCCEEDED"),
            "{}",
            run.stdout
        );
    }

    #[test]
    fn finally_runs_after_a_failure_and_a_failing_finally_fails_the_phase() {
        let mut build = phase("BUILD", &["false", "echo not-run"]);
        build.finally = vec!["echo \"cleanup $CODEBUILD_BUILD_SUCCEEDING\"".to_owned()];
        let run = run_all(vec![build], &[]);
        assert_eq!(run.status, 1);
        assert!(run.stdout.contains("\ncleanup 0\n"), "{}", run.stdout);
        assert!(!run.stdout.contains("not-run"), "{}", run.stdout);

        let mut build = phase("BUILD", &["echo fine"]);
        build.finally = vec![
            "sh -c 'exit 5'".to_owned(),
            "echo after-failed-finally".to_owned(),
        ];
        let run = run_all(vec![build, phase("POST_BUILD", &["echo post"])], &[]);
        assert_eq!(run.status, 5);
        assert!(
            !run.stdout.contains("after-failed-finally"),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains("Phase complete: BUILD State: FAILED"),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("\npost\n"), "{}", run.stdout);
    }

    #[test]
    fn tricky_commands_run_exactly_as_written() {
        let literal = r#"it's "quoted" $HOME \n #{x}"#;
        let echo = r#"printf '%s\n' 'it'\''s "quoted" $HOME \n #{x}'"#;
        let heredoc = "cat <<'END'\na\\b \"$x\" `y` 'z'\nEND";
        let doubled = r#"X="back\\slash \$dollar"; printf '%s\n' "$X""#;
        let run = run_all(vec![phase("BUILD", &[echo, heredoc, doubled])], &[]);
        assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
        // The log shows each command verbatim too, multi-line ones over several lines.
        let expected = format!(
            "[Container] Entering phase BUILD\n\
             [Container] Running command {echo}\n{literal}\n\
             [Container] Running command {heredoc}\na\\b \"$x\" `y` 'z'\n\
             [Container] Running command {doubled}\nback\\slash $dollar\n\
             [Container] Phase complete: BUILD State: SUCCEEDED\n"
        );
        assert_eq!(run.stdout, expected);
    }

    #[test]
    fn exported_variables_round_trip_exactly() {
        let run = run_all(
            vec![phase(
                "BUILD",
                &[
                    r#"MULTI="$(printf 'line1\nb=c "q" %s' "'s")""#,
                    "export EQ='x=y=z'",
                    "EMPTY=",
                    "TRAILING='ends with newline\n'",
                    "unset NOPE",
                ],
            )],
            &[
                "MULTI", "NOPE", "EQ", "EMPTY", "TRAILING", "bad-name", "X;rm",
            ],
        );
        assert_eq!(run.status, 0, "{}{}", run.stdout, run.stderr);
        assert_eq!(
            run.variables(),
            [
                ("MULTI", "line1\nb=c \"q\" 's"),
                ("EQ", "x=y=z"),
                ("EMPTY", ""),
                ("TRAILING", "ends with newline\n"),
            ]
        );
    }

    #[test]
    fn exit_in_a_command_keeps_its_status_and_writes_the_variables() {
        let run = run_all(
            vec![
                phase("BUILD", &["export V=before", "exit 3", "echo not-run"]),
                phase("POST_BUILD", &["echo post"]),
            ],
            &["V"],
        );
        assert_eq!(run.status, 3);
        assert_eq!(run.variables(), [("V", "before")]);
        assert!(!run.stdout.contains("not-run") && !run.stdout.contains("post\n"));
        let log = run.log();
        assert_eq!(
            log[log.len() - 3..],
            [
                "[Container] Command ended the shell exit 3 exit status 3",
                "[Container] Phase complete: BUILD State: FAILED",
                "[Container] The remaining commands and phases did not run",
            ]
        );
    }

    #[test]
    fn exit_0_after_an_earlier_failure_keeps_the_failure() {
        let mut install = phase("INSTALL", &["sh -c 'exit 6'"]);
        install.on_failure = OnFailure::Continue;
        let run = run_all(vec![install, phase("BUILD", &["exit 0"])], &["V"]);
        assert_eq!(run.status, 6);
        assert!(
            run.variables.is_some(),
            "the EXIT trap still writes the variables file"
        );
    }

    #[test]
    fn set_e_in_a_command_is_survived_like_exit() {
        let run = run_all(
            vec![phase(
                "BUILD",
                &["set -e", "export V=1", "false", "echo not-run"],
            )],
            &["V"],
        );
        assert_eq!(run.status, 1);
        assert_eq!(run.variables(), [("V", "1")]);
        assert!(!run.stdout.contains("not-run"), "{}", run.stdout);
    }

    #[test]
    fn a_syntax_error_is_an_ordinary_failure() {
        let run = run_all(
            vec![
                phase("BUILD", &["echo \"unterminated"]),
                phase("POST_BUILD", &["echo post"]),
            ],
            &[],
        );
        assert_eq!(run.status, 2);
        assert!(run.stdout.contains("\npost\n"), "{}", run.stdout);
        assert!(!run.stderr.is_empty());
    }

    #[test]
    fn command_output_keeps_its_streams() {
        let run = run_all(
            vec![phase("BUILD", &["echo to-stdout", "echo to-stderr >&2"])],
            &[],
        );
        assert!(run.stdout.contains("\nto-stdout\n"), "{}", run.stdout);
        assert!(!run.stdout.contains("\nto-stderr\n"), "{}", run.stdout);
        assert_eq!(run.stderr, "to-stderr\n");
    }

    #[test]
    fn an_empty_script_succeeds_and_writes_an_empty_variables_file() {
        let run = run_all(Vec::new(), &["A"]);
        assert_eq!(run.status, 0);
        assert_eq!(run.stdout, "");
        assert_eq!(run.variables(), []);
    }

    #[test]
    fn many_trivial_commands_run() {
        let commands: Vec<&str> = std::iter::repeat_n(":", 2000).collect();
        let run = run_in("sh", vec![phase("BUILD", &commands)], &[]);
        assert_eq!(run.status, 0);
        assert_eq!(run.log().len(), 2002);
    }

    #[test]
    fn quoting_and_names() {
        assert_eq!(quote("a'b"), r"'a'\''b'");
        assert_eq!(quote(""), "''");
        assert!(is_valid_variable_name("_A1"));
        assert!(!is_valid_variable_name("1A"));
        assert!(!is_valid_variable_name("A-B"));
        assert!(!is_valid_variable_name(""));
    }
}
