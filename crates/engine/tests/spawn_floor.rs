//! Benchmark (prints figures, asserts nothing about speed): the floor under the 1,000-action
//! benchmark of `tests/bench/engine.sh`. It starts the same 1,000 shells (10 stages of 100, as
//! many at once as the engine runs actions) with nothing recorded: no database, no log, no
//! events, no workspace. Whatever `pipewright run` takes beyond these figures is its bookkeeping.
//!
//! Two ways of starting processes, each with two scripts:
//! - `std threads`: one blocking thread per slot spawns, reads both pipes to their end and waits,
//!   which is about what `make` does;
//! - `tokio::process`: what the engine does (`process::run`): a task per action, both pipes read
//!   line by line by their own tasks, the exit seen through the runtime;
//! - `tokio + spawn_blocking`: a task per action that hands the blocking way above to tokio's
//!   blocking threads and takes the result back: what moving the engine's processes off the
//!   runtime would cost.
//! - `sh -c true` is what make runs; the Commands script is what the engine runs for a Commands
//!   action whose one command is `true` (the CodeBuild-style phase framing and log lines).
//!
//! cargo test -p pipewright-engine --release --test spawn_floor -- --ignored --nocapture

use std::io::Read;
use std::os::unix::process::CommandExt as _;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use pipewright_engine::script::{OnFailure, Phase, Script};
use tokio::io::AsyncBufReadExt;

const STAGES: usize = 10;
const ACTIONS: usize = 100;

#[test]
#[ignore = "benchmark: run explicitly"]
fn spawning_the_shells_alone() {
    let slots = std::thread::available_parallelism().map_or(2, |n| n.get());
    let dir = tempfile::tempdir().expect("tempdir");
    let commands_script = Script {
        phases: vec![Phase {
            name: "BUILD".to_owned(),
            commands: vec!["true".to_owned()],
            finally: Vec::new(),
            on_failure: OnFailure::Abort,
        }],
        exported_variables: Vec::new(),
        variables_file: dir.path().join("variables"),
        shell_per_command: false,
    }
    .render();
    for (label, script) in [
        ("sh -c true", "true".to_owned()),
        ("sh -c <Commands script>", commands_script),
    ] {
        let seconds = with_threads(slots, &script);
        println!("floor, std threads, {label}: {seconds:.3} s");
        let seconds = with_tokio(slots, &script);
        println!("floor, tokio::process, {label}: {seconds:.3} s");
        let seconds = with_spawn_blocking(slots, &script);
        println!("floor, tokio + spawn_blocking, {label}: {seconds:.3} s");
    }
}

fn with_threads(slots: usize, script: &str) -> f64 {
    let started = Instant::now();
    for _ in 0..STAGES {
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..slots {
                scope.spawn(|| {
                    while next.fetch_add(1, Ordering::Relaxed) < ACTIONS {
                        run_blocking(script);
                    }
                });
            }
        });
    }
    started.elapsed().as_secs_f64()
}

/// Starts one shell, reads both its pipes to their end and waits for it, on this thread.
fn run_blocking(script: &str) {
    let mut child = std::process::Command::new("sh")
        .args(["-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn sh");
    let mut output = Vec::new();
    for mut pipe in [
        Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read>,
        Box::new(child.stderr.take().expect("stderr")),
    ] {
        pipe.read_to_end(&mut output).expect("read");
    }
    assert!(child.wait().expect("wait").success());
}

fn with_spawn_blocking(slots: usize, script: &str) -> f64 {
    on_tokio(slots, script, |script| async move {
        tokio::task::spawn_blocking(move || run_blocking(&script))
            .await
            .expect("blocking task");
    })
}

fn with_tokio(slots: usize, script: &str) -> f64 {
    on_tokio(slots, script, |script| async move {
        let mut child = tokio::process::Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn sh");
        let stdout = tokio::spawn(count_lines(child.stdout.take().expect("stdout")));
        let stderr = tokio::spawn(count_lines(child.stderr.take().expect("stderr")));
        assert!(child.wait().await.expect("wait").success());
        let _ = (stdout.await, stderr.await);
    })
}

/// The stages on a multi-thread runtime: a task per action, which takes one of `slots` and
/// runs `action` with the script.
fn on_tokio<F, Fut>(slots: usize, script: &str, action: F) -> f64
where
    F: Fn(String) -> Fut + Copy + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let slots = Arc::new(tokio::sync::Semaphore::new(slots));
        let started = Instant::now();
        for _ in 0..STAGES {
            let mut actions = tokio::task::JoinSet::new();
            for _ in 0..ACTIONS {
                let slots = slots.clone();
                let script = script.to_owned();
                actions.spawn(async move {
                    let _slot = slots.acquire().await.expect("semaphore");
                    action(script).await;
                });
            }
            actions.join_all().await;
        }
        started.elapsed().as_secs_f64()
    })
}

async fn count_lines(pipe: impl tokio::io::AsyncRead + Unpin) -> usize {
    let mut lines = tokio::io::BufReader::new(pipe).lines();
    let mut count = 0;
    while let Ok(Some(_)) = lines.next_line().await {
        count += 1;
    }
    count
}
