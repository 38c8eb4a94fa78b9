//! A command whose reader goes away ends quietly: `pipewright events NAME --json | head -1` and
//! the like print nothing on stderr (no panic, no stack trace) and end as a process whose pipe
//! closed does.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

mod common;

use common::*;

/// Runs `args` with stdout read by a reader that takes one line and goes away.
fn read_one_line_then_close(env: &Env, args: &[&str]) -> (String, std::process::Output) {
    let mut child = env
        .command(&env.work, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    let mut first = String::new();
    {
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
            .read_line(&mut first)
            .expect("a line");
        // The reader is dropped here, closing the pipe while the command still writes.
    }
    let output = child.wait_with_output().expect("ends");
    (first, output)
}

#[test]
fn long_outputs_end_quietly_when_the_reader_goes_away() {
    let env = Env::new();
    // Enough events and action executions that their JSON is far beyond a pipe's 64 KiB.
    let actions: Vec<String> = (0..120)
        .map(|i| {
            format!(r#"{{"name": "a{i}", "actionTypeId": {{"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}}, "commands": ["true"]}}"#)
        })
        .collect();
    let pipeline = format!(
        r#"{{"name": "wide", "pipelineType": "V2", "stages": [{{"name": "Work", "actions": [{}]}}]}}"#,
        actions.join(",")
    );
    let file = env.work.join("wide.json");
    write(&file, &pipeline);
    let output = env.run(&env.work, &["run", &file.display().to_string()]);
    assert!(output.status.success(), "{}", text(&output));

    for args in [
        &["events", "wide", "--json"][..],
        &["actions", "wide", "--json"][..],
        &["logs", "wide"][..],
    ] {
        let (first, output) = read_one_line_then_close(&env, args);
        assert!(!first.is_empty(), "{args:?} printed nothing");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.is_empty(), "{args:?} wrote on stderr: {stderr}");
        assert_ne!(output.status.code(), Some(101), "{args:?} panicked");
    }
}
