//! Local triggers through the binary: `pipewright watch` starts a V2 pipeline for the commits and
//! tags its trigger filters accept, with that commit (and the branch it was pushed to) as the
//! source's revision, passes over the others and says so; a pipeline without triggers starts on
//! its branch's commits only, with two watchers of one data directory starting it once; and an
//! empty repository's first commit is a change like any other.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Child;
use std::sync::mpsc;
use std::time::Duration;

use common::{Env, git, text, write};

/// A watcher with its output read line by line on a thread.
struct Watcher {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Watcher {
    fn start(env: &Env, names: &[&str]) -> Watcher {
        let mut args = vec!["watch", "--interval", "0.2"];
        args.extend_from_slice(names);
        let mut child = env.spawn(&env.work, &args);
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Watcher {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line that contains `text` (30 s at most) and returns it.
    fn expect(&mut self, text: &str) -> String {
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line with {text:?}; the watcher said:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn commit(repo: &Path, file: &str, message: &str) -> String {
    write(&repo.join(file), message);
    git(repo, &["add", "."]);
    git(repo, &["commit", "-q", "-m", message]);
    git(repo, &["rev-parse", "HEAD"])
}

fn pipeline(env: &Env, name: &str, triggers: serde_json::Value, repo: &Path) {
    let dir = env.work.join(name);
    let mut declaration = serde_json::json!({
        "name": name, "pipelineType": "V2",
        "stages": [
            {"name": "Source", "actions": [{"name": "App", "namespace": "SourceVariables",
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                "configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/x",
                                  "FullRepositoryId": "acme/app", "BranchName": "main"},
                "outputArtifacts": [{"name": "Code"}]}]},
            {"name": "Build", "actions": [{"name": "Show",
                "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
                "commands": ["echo built #{SourceVariables.CommitId} of #{SourceVariables.BranchName}", "cat app.txt"],
                "inputArtifacts": [{"name": "Code"}]}]}
        ]
    });
    if !triggers.is_null() {
        declaration["triggers"] = triggers;
    }
    write(&dir.join("pipeline.json"), &declaration.to_string());
    write(
        &dir.join("pipeline.pipewright.yaml"),
        &format!("actions:\n  Source/App: {{path: {}}}\n", repo.display()),
    );
    env.ok(&["import", dir.join("pipeline.json").to_str().expect("utf-8")]);
}

#[test]
fn trigger_filters_start_the_pipeline_with_the_commit_that_matched() {
    let env = Env::new();
    let repo = env.work.join("repo");
    std::fs::create_dir_all(&repo).expect("repo");
    git(&repo, &["init", "-q", "-b", "main"]);
    commit(&repo, "app.txt", "first");
    pipeline(
        &env,
        "filtered",
        serde_json::json!([{"providerType": "CodeStarSourceConnection", "gitConfiguration": {
            "sourceActionName": "App",
            "push": [
                {"branches": {"includes": ["main", "release/**"]}, "filePaths": {"excludes": ["docs/**"]}},
                {"tags": {"includes": ["v*"]}}
            ],
            "pullRequest": [{"events": ["OPEN"], "branches": {"includes": ["main"]}}]
        }}]),
        &repo,
    );

    let mut watcher = Watcher::start(&env, &["filtered"]);
    watcher.expect("filtered: Source/App in");
    watcher.expect("pull-request trigger does not fire locally");
    assert!(
        env.executions("filtered").is_empty(),
        "what was there already starts nothing"
    );

    // A change under docs/ only: passed over, and said so.
    let docs = commit(&repo, "docs/guide.md", "docs only");
    let said = watcher.expect("refs/heads/main at");
    assert!(
        said.contains(&docs[..7]) && said.contains("does not start on it"),
        "{said}"
    );
    assert!(env.executions("filtered").is_empty());

    // A change to the app: started with that commit, which it reads even after main moved on.
    let wanted = commit(&repo, "app.txt", "second");
    watcher.expect(&format!("WebhookV2 refs/heads/main@{wanted}"));
    watcher.expect("Succeeded filtered execution");
    let executions = env.executions("filtered");
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0]["trigger"]["triggerType"], "WebhookV2");
    assert_eq!(
        executions[0]["trigger"]["triggerDetail"],
        format!("refs/heads/main@{wanted}")
    );
    assert_eq!(
        executions[0]["sourceRevisions"][0]["revisionId"],
        wanted.as_str()
    );
    assert!(env.logs("filtered", "Build/Show").contains("second"));

    // Other branches: feature/ is passed over, release/ starts and reports its branch. Each
    // branch is made at its new commit (committed on a detached HEAD first), so no look sees
    // it at the commit it came from.
    git(&repo, &["checkout", "-q", "--detach"]);
    let feature = commit(&repo, "app.txt", "feature work");
    git(&repo, &["branch", "feature/x", &feature]);
    watcher.expect("refs/heads/feature/x at");
    let release = commit(&repo, "app.txt", "release candidate");
    git(&repo, &["branch", "release/1.0", &release]);
    watcher.expect(&format!("refs/heads/release/1.0@{release}"));
    watcher.expect("Succeeded filtered execution");
    assert!(
        env.logs("filtered", "Build/Show")
            .contains(&format!("built {release} of release/1.0")),
        "the source reports the branch the commit was pushed to"
    );

    // Tags: v* starts, with the tagged commit; others do not.
    git(&repo, &["tag", "nightly"]);
    watcher.expect("refs/tags/nightly at");
    git(&repo, &["checkout", "-q", "main"]);
    git(&repo, &["tag", "-a", "v1.0", "-m", "one", &wanted]);
    watcher.expect(&format!("refs/tags/v1.0@{wanted}"));
    watcher.expect("Succeeded filtered execution");
    let executions = env.executions("filtered");
    assert_eq!(executions.len(), 3, "{executions:?}");
    assert_eq!(
        executions[0]["sourceRevisions"][0]["revisionId"],
        wanted.as_str()
    );
    let listed = env.ok(&["executions", "filtered"]);
    assert!(listed.contains("WebhookV2"), "{listed}");
}

#[test]
fn without_triggers_commits_of_the_branch_start_it_once_whoever_watches() {
    let env = Env::new();
    let repo = env.work.join("repo");
    std::fs::create_dir_all(&repo).expect("repo");
    git(&repo, &["init", "-q", "-b", "main"]);
    commit(&repo, "app.txt", "first");
    pipeline(&env, "plain", serde_json::Value::Null, &repo);

    let mut first = Watcher::start(&env, &["plain"]);
    first.expect("starts on new commits of main");
    let mut second = Watcher::start(&env, &[]);
    second.expect("Watching the sources of every pipeline");

    git(&repo, &["checkout", "-q", "-b", "topic"]);
    commit(&repo, "app.txt", "topic work");
    git(&repo, &["checkout", "-q", "main"]);
    git(&repo, &["merge", "-q", "--ff-only", "topic"]);
    let merged = git(&repo, &["rev-parse", "HEAD"]);
    // Whichever watcher claims the change starts it; wait for the run to end.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let executions = env.executions("plain");
        if executions
            .first()
            .is_some_and(|e| e["status"] == "Succeeded")
        {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no execution ended");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A few more looks by both, and still one execution, the branch's commit, by Webhook.
    std::thread::sleep(Duration::from_millis(800));
    let executions = env.executions("plain");
    assert_eq!(executions.len(), 1, "{executions:?}");
    assert_eq!(executions[0]["trigger"]["triggerType"], "Webhook");
    assert_eq!(
        executions[0]["sourceRevisions"][0]["revisionId"],
        merged.as_str()
    );
    drop(first);
    drop(second);
    let output = env.run(&env.work, &["watch", "--interval", "0"]);
    assert!(!output.status.success(), "{}", text(&output));
}

#[test]
fn an_empty_repository_s_first_commit_starts_it() {
    let env = Env::new();
    let repo = env.work.join("repo");
    std::fs::create_dir_all(&repo).expect("repo");
    git(&repo, &["init", "-q", "-b", "main"]);
    pipeline(&env, "fresh", serde_json::Value::Null, &repo);
    let mut watcher = Watcher::start(&env, &["fresh"]);
    watcher.expect("fresh: Source/App in");
    let first = commit(&repo, "app.txt", "the very first");
    watcher.expect(&format!("Webhook refs/heads/main@{first}"));
    watcher.expect("Succeeded fresh execution");
}
