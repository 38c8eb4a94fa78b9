//! End-to-end tests of the local runners and the local settings file, through the real
//! `pipewright` binary: git, directory and zip sources, S3 deploys, simulated and mapped actions,
//! variables at run time, export/import round trips, gc, `logs --follow` and CodeBuild semantics.
//!
//! The zip tests use `python3` (its `zipfile` module) to make and list zip files.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::*;

/// Writes a zip file whose entries are `(name, content)`, names taken as they are (even `../x`).
fn make_zip(path: &Path, entries: &[(&str, &str)]) {
    let entries = serde_json::to_string(entries).expect("json");
    tool(
        Path::new("."),
        "python3",
        &[
            "-c",
            "import json, sys, zipfile\n\
             with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
             \x20   for name, content in json.loads(sys.argv[2]):\n\
             \x20       z.writestr(name, content)\n",
            &path.display().to_string(),
            &entries,
        ],
    );
}

/// The file entries of a zip file (directories left out), sorted.
fn zip_entries(path: &Path) -> Vec<String> {
    let listing = tool(
        Path::new("."),
        "python3",
        &[
            "-c",
            "import sys, zipfile\n\
             for name in zipfile.ZipFile(sys.argv[1]).namelist():\n\
             \x20   print(name)\n",
            &path.display().to_string(),
        ],
    );
    let mut names: Vec<String> = listing
        .lines()
        .filter(|l| !l.ends_with('/'))
        .map(str::to_owned)
        .collect();
    names.sort();
    names
}

fn action_json(name: &str, category: &str, provider: &str, rest: &str) -> String {
    format!(
        r#"{{"name": "{name}", "actionTypeId": {{"category": "{category}", "owner": "AWS", "provider": "{provider}", "version": "1"}}{rest}}}"#
    )
}

fn stage_json(name: &str, actions: &[String]) -> String {
    format!(
        r#"{{"name": "{name}", "actions": [{}]}}"#,
        actions.join(", ")
    )
}

fn pipeline_json(name: &str, stages: &[String]) -> String {
    format!(
        r#"{{"name": "{name}", "pipelineType": "V2", "stages": [{}]}}"#,
        stages.join(", ")
    )
}

// ---------------------------------------------------------------------------------------------
// 1. Git sources
// ---------------------------------------------------------------------------------------------

/// A repository with one commit on `main` and a `feature` branch one commit ahead; `app.txt`
/// then has an uncommitted change and there is an untracked file.
fn git_repo(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).expect("repo dir");
    git(&repo, &["init", "-q", "-b", "main"]);
    write(&repo.join("app.txt"), "committed on main\n");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "first commit"]);
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    write(&repo.join("app.txt"), "committed on feature\n");
    git(&repo, &["commit", "-q", "-am", "feature work"]);
    git(&repo, &["checkout", "-q", "main"]);
    write(
        &repo.join("app.txt"),
        "committed on main\nuncommitted change\n",
    );
    write(&repo.join("untracked.txt"), "untracked\n");
    repo
}

fn git_pipeline(name: &str, provider: &str, configuration: &str) -> String {
    pipeline_json(
        name,
        &[
            stage_json(
                "Source",
                &[action_json(
                    "App",
                    "Source",
                    provider,
                    &format!(
                        r#", "configuration": {configuration}, "outputArtifacts": [{{"name": "Src"}}], "namespace": "SourceVariables""#
                    ),
                )],
            ),
            stage_json(
                "Build",
                &[action_json(
                    "Show",
                    "Compute",
                    "Commands",
                    r#", "inputArtifacts": [{"name": "Src"}], "commands": ["cat app.txt", "ls", "echo commit=#{SourceVariables.CommitId} branch=#{SourceVariables.BranchName}"]"#,
                )],
            ),
        ],
    )
}

#[test]
fn an_approval_shows_the_commit_it_approves() {
    let env = Env::new();
    let repo = git_repo(&env.work);
    let head = git(&repo, &["rev-parse", "main"]);
    git(
        &repo,
        &["remote", "add", "origin", "https://gitlab.com/me/app.git"],
    );
    let source = action_json(
        "App",
        "Source",
        "CodeCommit",
        r#", "configuration": {"RepositoryName": "app", "BranchName": "main"}, "outputArtifacts": [{"name": "Src"}]"#,
    );
    let release = action_json("Release", "Approval", "Manual", "");
    write(
        &env.work.join("gitgate.json"),
        &pipeline_json(
            "gitgate",
            &[
                stage_json("Source", &[source]),
                stage_json("Approve", &[release]),
            ],
        ),
    );
    write(
        &env.work.join("gitgate.pipewright.yaml"),
        "actions: {\"Source/App\": {path: repo}}\n",
    );
    let mut run = env.spawn(&env.work, &["run", "gitgate.json"]);
    env.wait_for_state("gitgate", |s| {
        action_status(s, "Approve", "Release") == "InProgress"
    });
    let pending = env.json(&["approvals", "--json"]);
    let revision = &pending[0]["artifactRevisions"][0];
    assert_eq!(revision["name"], "Src", "{pending}");
    assert_eq!(revision["revisionId"], head.as_str());
    assert_eq!(revision["revisionSummary"], "first commit");
    assert_eq!(revision["revisionAuthor"], "Pipewright Test");
    assert_eq!(
        revision["revisionUrl"],
        format!("https://gitlab.com/me/app/-/commit/{head}").as_str()
    );
    let listed = env.ok(&["approvals"]);
    assert!(
        listed.contains(&format!(
            "Src: {} first commit (by Pipewright Test)",
            &head[..7]
        )),
        "{listed}"
    );
    assert!(
        listed.contains(&format!("https://gitlab.com/me/app/-/commit/{head}")),
        "{listed}"
    );
    let approve = env.run(&env.work, &["approve", "gitgate", "Approve", "Release"]);
    assert!(approve.status.success(), "{}", text(&approve));
    assert!(run.wait().expect("run ends").success());
}

#[test]
fn a_codestar_connection_source_reads_the_committed_branch_head() {
    let env = Env::new();
    let repo = git_repo(&env.work);
    let head = git(&repo, &["rev-parse", "main"]);
    // Where the repository lives gives the commit its page.
    git(
        &repo,
        &["remote", "add", "origin", "git@github.com:me/app.git"],
    );
    write(
        &env.work.join("pipeline.json"),
        &git_pipeline(
            "gitsrc",
            "CodeStarSourceConnection",
            r#"{"ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/x", "FullRepositoryId": "me/app", "BranchName": "main"}"#,
        ),
    );
    write(
        &env.work.join("pipeline.pipewright.yaml"),
        "actions: {\"Source/App\": {path: repo}}\n",
    );
    let output = env.run(&env.work, &["run", "pipeline.json"]);
    assert!(output.status.success(), "{}", text(&output));

    let logs = env.logs("gitsrc", "Build/Show");
    assert!(
        logs.contains(&format!("commit={head} branch=main")),
        "#{{SourceVariables.CommitId}} is the head of main: {logs}"
    );
    assert!(logs.contains("committed on main"), "{logs}");
    assert!(
        !logs.contains("uncommitted change"),
        "the uncommitted change is not in the artifact: {logs}"
    );
    assert!(
        !logs.contains("untracked.txt"),
        "the untracked file is not in the artifact: {logs}"
    );
    let executions = env.executions("gitsrc");
    assert_eq!(executions[0]["status"], "Succeeded");
    let revisions = executions[0]["sourceRevisions"].as_array().expect("list");
    assert_eq!(revisions.len(), 1, "{revisions:?}");
    assert_eq!(revisions[0]["revisionId"], head.as_str());
    assert_eq!(revisions[0]["revisionSummary"], "first commit");
    assert_eq!(
        revisions[0]["revisionUrl"],
        format!("https://github.com/me/app/commit/{head}").as_str()
    );

    // The same source from the working tree: uncommitted and untracked files are included.
    write(
        &env.work.join("pipeline.pipewright.yaml"),
        "actions: {\"Source/App\": {path: repo, workingCopy: true}}\n",
    );
    let output = env.run(&env.work, &["run", "pipeline.json"]);
    assert!(output.status.success(), "{}", text(&output));
    let logs = env.logs("gitsrc", "Build/Show");
    assert!(logs.contains("uncommitted change"), "{logs}");
    assert!(logs.contains("untracked.txt"), "{logs}");
    assert!(logs.contains(&format!("commit={head}")), "{logs}");
}

#[test]
fn a_full_clone_source_hands_over_the_repository_with_its_history() {
    let env = Env::new();
    let repo = git_repo(&env.work);
    let head = git(&repo, &["rev-parse", "feature"]);
    write(
        &env.work.join("pipeline.json"),
        &git_pipeline(
            "clone",
            "CodeStarSourceConnection",
            r#"{"ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/x", "FullRepositoryId": "me/app", "BranchName": "feature", "OutputArtifactFormat": "CODEBUILD_CLONE_REF"}"#,
        )
        .replace(
            r#""ls""#,
            r#""git log --format=history:%s", "git rev-parse --abbrev-ref HEAD", "git status --porcelain | wc -l""#,
        ),
    );
    write(
        &env.work.join("pipeline.pipewright.yaml"),
        "actions: {\"Source/App\": {path: repo}}\n",
    );
    let output = env.run(&env.work, &["run", "pipeline.json"]);
    assert!(output.status.success(), "{}", text(&output));
    let logs = env.logs("clone", "Build/Show");
    assert!(logs.contains("committed on feature"), "{logs}");
    assert!(
        logs.contains("history:feature work") && logs.contains("history:first commit"),
        "the build sees the branch's history: {logs}"
    );
    assert!(
        logs.contains(&format!("commit={head} branch=feature")),
        "{logs}"
    );
    let printed: Vec<&str> = logs
        .lines()
        .map(|l| l.trim_start_matches("Build/Show").trim())
        .collect();
    assert!(printed.contains(&"feature"), "on the branch: {logs}");
    assert!(printed.contains(&"0"), "a clean working tree: {logs}");
}

#[test]
fn a_codecommit_source_reads_the_branch_its_configuration_names() {
    let env = Env::new();
    let repo = git_repo(&env.work);
    let feature = git(&repo, &["rev-parse", "feature"]);
    assert_ne!(feature, git(&repo, &["rev-parse", "main"]));
    write(
        &env.work.join("cc.json"),
        &git_pipeline(
            "cc",
            "CodeCommit",
            r#"{"RepositoryName": "app", "BranchName": "feature"}"#,
        ),
    );
    write(
        &env.work.join("cc.pipewright.yaml"),
        "actions: {\"Source/App\": {path: repo}}\n",
    );
    let output = env.run(&env.work, &["run", "cc.json"]);
    assert!(output.status.success(), "{}", text(&output));
    let logs = env.logs("cc", "Build/Show");
    assert!(
        logs.contains(&format!("commit={feature} branch=feature")),
        "{logs}"
    );
    assert!(logs.contains("committed on feature"), "{logs}");
    assert!(!logs.contains("committed on main"), "{logs}");
    let executions = env.executions("cc");
    assert_eq!(
        executions[0]["sourceRevisions"][0]["revisionId"],
        feature.as_str()
    );
    assert_eq!(
        executions[0]["sourceRevisions"][0]["revisionSummary"],
        "feature work"
    );
    let actions = env.json(&["actions", "cc", "--json"]);
    let source = actions["actionExecutionDetails"]
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["actionName"] == "App")
        .expect("the source action ran")
        .clone();
    assert_eq!(source["output"]["outputVariables"]["CommitId"], feature);
    assert_eq!(
        source["output"]["outputVariables"]["FullRepositoryName"],
        "app"
    );
}

/// AWS's `sourceRevisions[].actionName` is the source action's name, not its artifact's.
#[test]
fn source_revisions_name_the_source_action() {
    let env = Env::new();
    git_repo(&env.work);
    write(
        &env.work.join("rev.json"),
        &git_pipeline(
            "rev",
            "CodeCommit",
            r#"{"RepositoryName": "app", "BranchName": "main"}"#,
        ),
    );
    write(
        &env.work.join("rev.pipewright.yaml"),
        "actions: {\"Source/App\": {path: repo}}\n",
    );
    let output = env.run(&env.work, &["run", "rev.json"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        env.executions("rev")[0]["sourceRevisions"][0]["actionName"],
        "App"
    );
}

#[test]
fn a_missing_branch_fails_the_source_action_with_a_message_naming_it() {
    let env = Env::new();
    git_repo(&env.work);
    write(
        &env.work.join("nb.json"),
        &git_pipeline(
            "nb",
            "CodeCommit",
            r#"{"RepositoryName": "app", "BranchName": "no-such-branch"}"#,
        ),
    );
    write(
        &env.work.join("nb.pipewright.yaml"),
        "actions: {\"Source/App\": {path: repo}}\n",
    );
    let output = env.run(&env.work, &["run", "nb.json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let state = env.json(&["state", "nb", "--json"]);
    assert_eq!(action_status(&state, "Source", "App"), "Failed");
    assert!(
        action_summary(&state, "Source", "App").contains("no-such-branch"),
        "{state}"
    );
    assert_eq!(
        action_status(&state, "Build", "Show"),
        "",
        "nothing after the failed source ran"
    );
}

#[test]
fn a_working_copy_source_keeps_symlinks_as_the_commit_would() {
    let env = Env::new();
    let repo = env.work.join("repo");
    std::fs::create_dir_all(repo.join("dir")).expect("repo dir");
    git(&repo, &["init", "-q", "-b", "main"]);
    write(&repo.join("app.txt"), "app\n");
    write(&repo.join("dir/inner.txt"), "inner\n");
    std::os::unix::fs::symlink("app.txt", repo.join("link")).expect("symlink");
    std::os::unix::fs::symlink("dir", repo.join("dirlink")).expect("symlink");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "links"]);
    let pipeline = pipeline_json(
        "links",
        &[
            stage_json(
                "Source",
                &[action_json(
                    "App",
                    "Source",
                    "CodeCommit",
                    r#", "configuration": {"RepositoryName": "app", "BranchName": "main"}, "outputArtifacts": [{"name": "Src"}]"#,
                )],
            ),
            stage_json(
                "Build",
                &[action_json(
                    "Check",
                    "Compute",
                    "Commands",
                    r#", "inputArtifacts": [{"name": "Src"}], "commands": ["test -L link", "test \"$(readlink link)\" = app.txt", "test -L dirlink", "cat dirlink/inner.txt"]"#,
                )],
            ),
        ],
    );
    write(&env.work.join("links.json"), &pipeline);
    for settings in ["{path: repo}", "{path: repo, workingCopy: true}"] {
        write(
            &env.work.join("links.pipewright.yaml"),
            &format!("actions: {{\"Source/App\": {settings}}}\n"),
        );
        let output = env.run(&env.work, &["run", "links.json"]);
        assert!(output.status.success(), "{settings}: {}", text(&output));
    }

    // A symlink out of the repository is refused from the working tree too, as it is from a
    // commit: its target's contents never end up in the artifact.
    let secret = env.work.join("secret.txt");
    write(&secret, "outside the repository\n");
    std::os::unix::fs::symlink(&secret, repo.join("leak")).expect("symlink");
    write(
        &env.work.join("links.pipewright.yaml"),
        "actions: {\"Source/App\": {path: repo, workingCopy: true}}\n",
    );
    let output = env.run(&env.work, &["run", "links.json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let state = env.json(&["state", "links", "--json"]);
    assert_eq!(action_status(&state, "Source", "App"), "Failed");
    assert!(
        action_summary(&state, "Source", "App").contains("leak"),
        "the refusal names the symlink: {state}"
    );
    // The commit does not have it, so the committed source still runs.
    write(
        &env.work.join("links.pipewright.yaml"),
        "actions: {\"Source/App\": {path: repo}}\n",
    );
    let output = env.run(&env.work, &["run", "links.json"]);
    assert!(output.status.success(), "{}", text(&output));
}

// ---------------------------------------------------------------------------------------------
// 2. S3 sources and deploys
// ---------------------------------------------------------------------------------------------

fn s3_pipeline(name: &str) -> String {
    pipeline_json(
        name,
        &[
            stage_json(
                "Source",
                &[action_json(
                    "App",
                    "Source",
                    "S3",
                    r#", "configuration": {"S3Bucket": "src", "S3ObjectKey": "app.zip"}, "outputArtifacts": [{"name": "Src"}]"#,
                )],
            ),
            stage_json(
                "Deploy",
                &[
                    action_json(
                        "Zip",
                        "Deploy",
                        "S3",
                        r#", "configuration": {"BucketName": "site", "Extract": "false", "ObjectKey": "site.zip"}, "inputArtifacts": [{"name": "Src"}]"#,
                    ),
                    action_json(
                        "Files",
                        "Deploy",
                        "S3",
                        r#", "configuration": {"BucketName": "site", "Extract": "true", "ObjectKey": "prefix/"}, "inputArtifacts": [{"name": "Src"}]"#,
                    ),
                ],
            ),
        ],
    )
}

fn sorted_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .expect("under root")
                        .display()
                        .to_string(),
                );
            }
        }
    }
    out.sort();
    out
}

#[test]
fn an_s3_source_from_a_zip_deploys_as_a_zip_and_as_files_under_a_prefix() {
    let env = Env::new();
    let project = env.work.join("project");
    make_zip(
        &env.work.join("app.zip"),
        &[
            ("index.html", "<h1>zip</h1>\n"),
            ("css/site.css", "body {}\n"),
        ],
    );
    write(&project.join("s3.json"), &s3_pipeline("s3zip"));
    write(
        &project.join("s3.pipewright.yaml"),
        "actions:\n  Source/App: {path: ../app.zip}\n  Deploy/Zip: {path: out}\n  Deploy/Files: {path: out}\n",
    );
    // Run as the README shows: the file named relative to the current directory.
    let output = env.run(&project, &["run", "s3.json"]);
    assert!(output.status.success(), "{}", text(&output));
    let out = project.join("out");
    assert_eq!(
        zip_entries(&out.join("site.zip")),
        ["css/site.css", "index.html"]
    );
    assert_eq!(
        sorted_files(&out.join("prefix")),
        ["css/site.css", "index.html"]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("prefix/index.html")).expect("deployed"),
        "<h1>zip</h1>\n"
    );

    // The stored settings work from any directory: running the stored pipeline by name from
    // elsewhere reads the same zip and writes to the same folder.
    std::fs::remove_dir_all(&out).expect("clean out");
    let elsewhere = env.work.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("dir");
    let output = env.run(&elsewhere, &["run", "s3zip"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        zip_entries(&out.join("site.zip")),
        ["css/site.css", "index.html"]
    );
    assert!(out.join("prefix/css/site.css").is_file());
    assert_eq!(
        std::fs::read_dir(&elsewhere).expect("dir").count(),
        0,
        "nothing was written relative to the current directory"
    );
}

#[test]
fn an_s3_source_from_a_directory_deploys_its_files() {
    let env = Env::new();
    write(&env.work.join("app/index.html"), "<h1>dir</h1>\n");
    write(&env.work.join("app/img/logo.svg"), "<svg/>\n");
    write(&env.work.join("s3.json"), &s3_pipeline("s3dir"));
    write(
        &env.work.join("s3.pipewright.yaml"),
        "actions:\n  Source/App: {path: app}\n  Deploy/Zip: {path: out}\n  Deploy/Files: {path: out}\n",
    );
    let output = env.run(&env.work, &["run", "s3.json"]);
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        zip_entries(&env.work.join("out/site.zip")),
        ["img/logo.svg", "index.html"]
    );
    assert_eq!(
        sorted_files(&env.work.join("out/prefix")),
        ["img/logo.svg", "index.html"]
    );
    let executions = env.executions("s3dir");
    let revision = executions[0]["sourceRevisions"][0]["revisionId"]
        .as_str()
        .unwrap_or_default();
    assert!(
        revision.starts_with("sha256:"),
        "a directory's revision is its content digest: {revision}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. A zip that tries to escape
// ---------------------------------------------------------------------------------------------

#[test]
fn a_zip_source_with_a_parent_dir_entry_is_refused_and_writes_nothing_outside() {
    let env = Env::new();
    let project = env.work.join("project");
    std::fs::create_dir_all(&project).expect("dir");
    make_zip(
        &project.join("app.zip"),
        &[("ok.txt", "fine\n"), ("../evil", "escaped\n")],
    );
    write(&project.join("s3.json"), &s3_pipeline("evil"));
    write(
        &project.join("s3.pipewright.yaml"),
        "actions:\n  Source/App: {path: app.zip}\n  Deploy/Zip: {path: out}\n  Deploy/Files: {path: out}\n",
    );
    let output = env.run(&project, &["run", "s3.json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let state = env.json(&["state", "evil", "--json"]);
    assert_eq!(action_status(&state, "Source", "App"), "Failed");
    let summary = action_summary(&state, "Source", "App");
    assert!(summary.contains("../evil"), "names the entry: {summary}");
    assert_eq!(action_status(&state, "Deploy", "Zip"), "");
    assert!(!project.join("out").exists(), "nothing was deployed");
    let mut stack = vec![env.temp.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            assert_ne!(entry.file_name(), "evil", "{}", entry.path().display());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Simulated and mapped actions
// ---------------------------------------------------------------------------------------------

#[test]
fn simulated_and_command_mapped_actions_run_in_place_of_aws_providers() {
    let env = Env::new();
    let marker = env.work.join("invoked.txt");
    let pipeline = pipeline_json(
        "sim",
        &[
            stage_json(
                "Deploy",
                &[action_json(
                    "Stack",
                    "Deploy",
                    "CloudFormation",
                    r#", "configuration": {"ActionMode": "CREATE_UPDATE", "StackName": "app", "RoleArn": "arn:aws:iam::123456789012:role/cfn"}, "namespace": "Stack", "outputArtifacts": [{"name": "StackOut"}]"#,
                )],
            ),
            stage_json(
                "Test",
                &[
                    action_json(
                        "Lambda",
                        "Invoke",
                        "Lambda",
                        r#", "configuration": {"FunctionName": "smoke"}"#,
                    ),
                    action_json(
                        "Uses",
                        "Compute",
                        "Commands",
                        r#", "inputArtifacts": [{"name": "StackOut"}], "commands": ["echo stack=#{Stack.StackId}"]"#,
                    ),
                ],
            ),
        ],
    );
    write(&env.work.join("sim.json"), &pipeline);
    write(
        &env.work.join("sim.pipewright.yaml"),
        &format!(
            "actions:\n  Deploy/Stack: {{simulate: true, outputVariables: {{StackId: local-stack}}}}\n  Test/Lambda:\n    commands:\n      - echo invoked in $(pwd) > {}\n      - echo lambda mapped\n",
            marker.display()
        ),
    );
    let validate = env.run(&env.work, &["validate", "sim.json", "--json"]);
    assert!(validate.status.success(), "{}", text(&validate));
    assert!(
        !String::from_utf8_lossy(&validate.stdout).contains("no-local-runner"),
        "both actions are mapped: {}",
        text(&validate)
    );
    let output = env.run(&env.work, &["run", "sim.json"]);
    assert!(output.status.success(), "{}", text(&output));
    let shown = String::from_utf8_lossy(&output.stdout);
    let line_of = |key: &str| {
        shown
            .lines()
            .filter(|l| l.contains(key) && !l.contains('●'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        line_of("Deploy/Stack").contains("✔ Succeeded [simulated]"),
        "run labels the simulated action: {shown}"
    );
    assert!(
        !line_of("Test/Lambda").contains("[simulated]"),
        "a command-mapped action really ran: {shown}"
    );

    let state = env.json(&["state", "sim", "--json"]);
    let stack = latest(&state, "Deploy", "Stack");
    assert_eq!(stack["status"], "Succeeded");
    assert_eq!(stack["simulated"], true, "{state}");
    let lambda = latest(&state, "Test", "Lambda");
    assert_eq!(lambda["status"], "Succeeded");
    assert!(
        lambda.get("simulated").is_none_or(|s| s == false),
        "a command-mapped action really ran: {state}"
    );
    let plain = env.ok(&["state", "sim"]);
    assert!(plain.contains("[simulated]"), "{plain}");

    let actions = env.json(&["actions", "sim", "--json"]);
    let details = actions["actionExecutionDetails"].as_array().expect("list");
    let stack = details
        .iter()
        .find(|d| d["actionName"] == "Stack")
        .expect("Stack");
    let summary = stack["output"]["executionResult"]["externalExecutionSummary"]
        .as_str()
        .unwrap_or_default();
    assert!(summary.contains("Simulated"), "{summary}");
    assert_eq!(stack["output"]["outputVariables"]["StackId"], "local-stack");
    let logs = env.logs("sim", "Deploy/Stack");
    assert!(logs.contains("Simulated"), "{logs}");
    assert!(
        env.logs("sim", "Test/Uses").contains("stack=local-stack"),
        "a simulated action's output variables reach later actions"
    );

    let invoked = std::fs::read_to_string(&marker).expect("the mapped commands ran");
    assert!(invoked.starts_with("invoked in /"), "{invoked}");
    assert!(env.logs("sim", "Test/Lambda").contains("lambda mapped"));
}

// ---------------------------------------------------------------------------------------------
// 5. No local runner
// ---------------------------------------------------------------------------------------------

#[test]
fn an_unmapped_provider_is_a_validate_warning_and_run_waits_for_its_plan() {
    let env = Env::new();
    let marker = env.work.join("ran.txt");
    let pipeline = pipeline_json(
        "unmapped",
        &[
            stage_json(
                "Build",
                &[action_json(
                    "First",
                    "Compute",
                    "Commands",
                    &format!(r#", "commands": ["touch {}"]"#, marker.display()),
                )],
            ),
            stage_json(
                "Deploy",
                &[action_json(
                    "Stack",
                    "Deploy",
                    "CloudFormation",
                    r#", "configuration": {"ActionMode": "CREATE_UPDATE", "StackName": "app"}"#,
                )],
            ),
        ],
    );
    write(&env.work.join("unmapped.json"), &pipeline);

    let output = env.run(&env.work, &["validate", "unmapped.json", "--json"]);
    assert!(output.status.success(), "only a warning: {}", text(&output));
    let report: Value = serde_json::from_slice(&output.stdout).expect("json");
    let warning = report["diagnostics"]
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["code"] == "no-local-runner")
        .unwrap_or_else(|| panic!("no no-local-runner warning: {report}"))
        .clone();
    assert_eq!(warning["severity"], "warning");
    assert_eq!(warning["path"], "/stages/1/actions/0");
    assert!(
        warning["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Deploy/Stack"),
        "{warning}"
    );
    let plain = env.run(&env.work, &["validate", "unmapped.json"]);
    let plain = text(&plain);
    assert!(
        plain.contains("no-local-runner") && plain.contains("Deploy/Stack"),
        "{plain}"
    );

    // A file: the local plan would simulate it, and off a terminal that waits for --yes.
    let output = env.run(&env.work, &["run", "unmapped.json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Deploy/Stack") && stderr.contains("simulated: no local runner"),
        "names the action and what the plan does with it: {stderr}"
    );
    assert!(stderr.contains("--yes"), "says how to accept it: {stderr}");
    assert!(!marker.exists(), "nothing ran, not even the first stage");
    // A stored pipeline has no plan to accept: it is refused, saying how to map the action.
    env.ok(&["import", "unmapped.json"]);
    let output = env.run(&env.work, &["run", "unmapped"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Deploy/Stack")
            && stderr.contains("local settings")
            && stderr.contains("simulate"),
        "says how to map it: {stderr}"
    );
    assert!(!marker.exists(), "nothing ran, not even the first stage");
    assert!(env.executions("unmapped").is_empty());
}

// ---------------------------------------------------------------------------------------------
// 6. Unresolvable variables at run time
// ---------------------------------------------------------------------------------------------

#[test]
fn a_variable_the_namespace_never_exported_fails_the_action_that_uses_it() {
    let env = Env::new();
    let marker = env.work.join("read.txt");
    let pipeline = pipeline_json(
        "vars",
        &[
            stage_json(
                "Build",
                &[action_json(
                    "Make",
                    "Compute",
                    "Commands",
                    r#", "namespace": "Other", "commands": ["export Y=1"], "outputVariables": ["Y"]"#,
                )],
            ),
            stage_json(
                "Use",
                &[action_json(
                    "Read",
                    "Compute",
                    "Commands",
                    &format!(
                        r#", "commands": ["echo value=#{{Other.X}} > {}"]"#,
                        marker.display()
                    ),
                )],
            ),
        ],
    );
    write(&env.work.join("vars.json"), &pipeline);
    let validate = env.run(&env.work, &["validate", "vars.json"]);
    assert!(validate.status.success(), "{}", text(&validate));
    let output = env.run(&env.work, &["run", "vars.json"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("#{Other.X}"),
        "the run's output names the reference: {}",
        text(&output)
    );
    let state = env.json(&["state", "vars", "--json"]);
    assert_eq!(action_status(&state, "Build", "Make"), "Succeeded");
    assert_eq!(action_status(&state, "Use", "Read"), "Failed");
    assert!(
        action_summary(&state, "Use", "Read").contains("#{Other.X}"),
        "{state}"
    );
    assert!(!marker.exists(), "the command never ran");
    assert_eq!(env.executions("vars")[0]["status"], "Failed");
}

// ---------------------------------------------------------------------------------------------
// 8. Export and import
// ---------------------------------------------------------------------------------------------

#[test]
fn export_validate_and_import_round_trip_json_and_yaml_and_old_versions() {
    let env = Env::new();
    // Values YAML could mistake for other types, and a multi-line one.
    let original = r##"{"name": "trip", "pipelineType": "V2", "executionMode": "QUEUED",
      "variables": [{"name": "flag", "defaultValue": "on"}, {"name": "zero", "defaultValue": "0123"}, {"name": "empty", "defaultValue": ""}],
      "stages": [{"name": "Build", "actions": [{"name": "Make",
        "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
        "configuration": {"A": "false", "B": "null", "C": "~", "D": "1.0", "E": "yes", "F": "a: b", "G": "# x", "H": "line1\nline2\n", "I": " padded "},
        "commands": ["echo 'a: b'", "- dash", "[x]", "NO", "echo #{variables.flag}"],
        "outputArtifacts": [{"name": "out", "files": ["**/*"]}]}]}]}"##;
    write(&env.work.join("trip.json"), original);
    assert_eq!(env.ok(&["import", "trip.json"]).trim(), "trip version 1");

    let exported = env.ok(&["export", "trip", "--format", "json"]);
    let exported_value: Value = serde_json::from_str(&exported).expect("json");
    let original_value: Value = serde_json::from_str(original).expect("json");
    assert_eq!(
        exported_value, original_value,
        "the export is the declaration"
    );

    let dir = env.work.join("exported");
    write(&dir.join("trip.json"), &exported);
    let validate = env.run(&dir, &["validate", "trip.json"]);
    assert!(validate.status.success(), "{}", text(&validate));
    let import = env.run(&dir, &["import", "trip.json"]);
    assert!(import.status.success(), "{}", text(&import));
    assert_eq!(
        String::from_utf8_lossy(&import.stdout).trim(),
        "trip version 2"
    );
    assert_eq!(
        env.ok(&["export", "trip", "--version", "2"]),
        exported,
        "version 2 is identical"
    );

    let yaml = env.ok(&["export", "trip", "--format", "yaml"]);
    assert!(yaml.contains("name: trip"), "{yaml}");
    write(&dir.join("trip.yaml"), &yaml);
    let validate = env.run(&dir, &["validate", "trip.yaml"]);
    assert!(validate.status.success(), "{}", text(&validate));
    let import = env.run(&dir, &["import", "trip.yaml"]);
    assert!(import.status.success(), "{}", text(&import));
    assert_eq!(
        String::from_utf8_lossy(&import.stdout).trim(),
        "trip version 3"
    );
    assert_eq!(
        env.ok(&["export", "trip", "--version", "3"]),
        exported,
        "YAML parses back to the same declaration"
    );

    // A changed version does not touch the old ones.
    let changed = original.replace("\"QUEUED\"", "\"PARALLEL\"");
    write(&dir.join("trip.json"), &changed);
    let import = env.run(&dir, &["import", "trip.json"]);
    assert!(import.status.success(), "{}", text(&import));
    let latest: Value = serde_json::from_str(&env.ok(&["export", "trip"])).expect("json");
    assert_eq!(latest["executionMode"], "PARALLEL");
    assert_eq!(env.ok(&["export", "trip", "--version", "1"]), exported);
    let missing = env.run(&env.work, &["export", "trip", "--version", "9"]);
    assert!(!missing.status.success());
}

// ---------------------------------------------------------------------------------------------
// 9. gc
// ---------------------------------------------------------------------------------------------

#[test]
fn gc_collects_while_an_execution_waits_for_approval_and_keeps_its_artifacts() {
    let env = Env::new();
    let make = action_json(
        "Make",
        "Compute",
        "Commands",
        r#", "commands": ["echo #{codepipeline.PipelineExecutionId} > out.txt"], "outputArtifacts": [{"name": "out", "files": ["out.txt"]}]"#,
    );
    let read = action_json(
        "Read",
        "Compute",
        "Commands",
        r#", "inputArtifacts": [{"name": "out"}], "commands": ["echo read $(cat out.txt)"]"#,
    );
    let old = pipeline_json(
        "old",
        &[
            stage_json("Build", std::slice::from_ref(&make)),
            stage_json("Use", std::slice::from_ref(&read)),
        ],
    );
    write(&env.work.join("old.json"), &old);
    for _ in 0..3 {
        let output = env.run(&env.work, &["run", "old.json"]);
        assert!(output.status.success(), "{}", text(&output));
    }
    let gated = pipeline_json(
        "gated",
        &[
            stage_json("Build", &[make]),
            stage_json(
                "Approve",
                &[action_json("Release", "Approval", "Manual", "")],
            ),
            stage_json("Use", &[read]),
        ],
    );
    write(&env.work.join("gated.json"), &gated);
    let run = env.spawn(&env.work, &["run", "gated.json"]);
    env.wait_for_state("gated", |s| {
        action_status(s, "Approve", "Release") == "InProgress"
    });

    let report = env.json(&["gc", "--keep", "1", "--json"]);
    assert_eq!(report["artifactsKeptBecauseBusy"], false, "{report}");
    assert_eq!(report["executionsRemoved"], 2, "{report}");
    assert!(
        report["artifactsRemoved"].as_u64().unwrap_or(0) >= 2,
        "the old runs' artifacts go while the approval waits: {report}"
    );

    env.ok(&["approve", "gated", "Approve", "Release"]);
    let output = run.wait_with_output().expect("run ends");
    assert!(output.status.success(), "{}", text(&output));
    let id = env.executions("gated")[0]["pipelineExecutionId"]
        .as_str()
        .expect("id")
        .to_owned();
    assert!(
        env.logs("gated", "Use/Read")
            .contains(&format!("read {id}")),
        "the waiting execution's artifact was kept"
    );
}

#[test]
fn gc_keeps_the_newest_execution_and_its_artifacts() {
    let env = Env::new();
    let pipeline = pipeline_json(
        "gc",
        &[
            stage_json(
                "Build",
                &[action_json(
                    "Make",
                    "Compute",
                    "Commands",
                    r#", "commands": ["echo #{codepipeline.PipelineExecutionId} > out.txt"], "outputArtifacts": [{"name": "out", "files": ["out.txt"]}]"#,
                )],
            ),
            stage_json(
                "Use",
                &[action_json(
                    "Read",
                    "Compute",
                    "Commands",
                    r#", "inputArtifacts": [{"name": "out"}], "commands": ["echo read $(cat out.txt)"]"#,
                )],
            ),
        ],
    );
    write(&env.work.join("gc.json"), &pipeline);
    for _ in 0..3 {
        let output = env.run(&env.work, &["run", "gc.json"]);
        assert!(output.status.success(), "{}", text(&output));
    }
    let before = env.executions("gc");
    assert_eq!(before.len(), 3);
    let newest = before[0]["pipelineExecutionId"]
        .as_str()
        .expect("id")
        .to_owned();

    let report = env.json(&["gc", "--keep", "1", "--json"]);
    assert_eq!(report["executionsRemoved"], 2, "{report}");
    assert!(
        report["artifactsRemoved"].as_u64().unwrap_or(0) >= 2,
        "{report}"
    );
    assert!(report["bytesFreed"].as_u64().unwrap_or(0) > 0, "{report}");

    let after = env.executions("gc");
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["pipelineExecutionId"], newest.as_str());
    let state = env.json(&["state", "gc", "--json"]);
    assert_eq!(action_status(&state, "Use", "Read"), "Succeeded");
    assert!(
        env.logs("gc", "Use/Read")
            .contains(&format!("read {newest}"))
    );

    // The kept execution's artifact is still there: a rollback of Use runs with it.
    let rollback = env.run(&env.work, &["rollback", "gc", "Use", "--target", &newest]);
    assert!(rollback.status.success(), "{}", text(&rollback));
    assert!(
        env.logs("gc", "Use/Read")
            .contains(&format!("read {newest}"))
    );

    let again = env.json(&["gc", "--keep", "2", "--json"]);
    assert_eq!(again["executionsRemoved"], 0, "{again}");
    assert_eq!(again["artifactsRemoved"], 0, "{again}");
}

// ---------------------------------------------------------------------------------------------
// 10. logs --follow
// ---------------------------------------------------------------------------------------------

#[test]
fn logs_follow_prints_lines_as_they_come_and_ends_with_the_execution() {
    let env = Env::new();
    let pipeline = pipeline_json(
        "slowlog",
        &[stage_json(
            "Work",
            &[action_json(
                "Talk",
                "Compute",
                "Commands",
                r#", "commands": ["echo line-one", "sleep 1.5", "echo line-two", "sleep 1.5", "echo line-three"]"#,
            )],
        )],
    );
    write(&env.work.join("slowlog.json"), &pipeline);
    let run = env.spawn(&env.work, &["run", "slowlog.json"]);
    env.wait_for_state("slowlog", |s| {
        action_status(s, "Work", "Talk") == "InProgress"
    });
    let mut follow = env.spawn(&env.work, &["logs", "slowlog", "--follow"]);
    let stdout = follow.stdout.take().expect("stdout");
    let (sender, receiver) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    let mut seen: Vec<(Instant, String)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while let Ok(item) = receiver.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        seen.push(item);
    }
    reader.join().expect("reader");
    let run_output = run.wait_with_output().expect("run ends");
    assert!(run_output.status.success(), "{}", text(&run_output));
    let ended = Instant::now();
    loop {
        if let Some(status) = follow.try_wait().expect("try_wait") {
            assert!(status.success(), "logs --follow failed");
            break;
        }
        assert!(
            ended.elapsed() < Duration::from_secs(30),
            "logs --follow did not end with the execution"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let at = |needle: &str| {
        seen.iter()
            .find(|(_, line)| line.ends_with(needle))
            .map(|(at, _)| *at)
            .unwrap_or_else(|| panic!("{needle} never printed: {seen:?}"))
    };
    let (one, two, three) = (at("line-one"), at("line-two"), at("line-three"));
    assert!(
        two.duration_since(one) >= Duration::from_millis(700),
        "line-one was printed before line-two existed"
    );
    assert!(
        three.duration_since(two) >= Duration::from_millis(700),
        "line-two was printed before line-three existed"
    );
    assert!(
        seen.iter().all(|(_, line)| line.starts_with("Work/Talk")),
        "{seen:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 11. Local settings errors
// ---------------------------------------------------------------------------------------------

#[test]
fn a_bad_local_settings_file_is_a_clear_error_and_nothing_is_imported() {
    let env = Env::new();
    let pipeline = pipeline_json(
        "settings",
        &[stage_json(
            "Build",
            &[action_json(
                "Make",
                "Compute",
                "Commands",
                r#", "commands": ["true"]"#,
            )],
        )],
    );
    write(&env.work.join("settings.json"), &pipeline);
    let settings = env.work.join("settings.pipewright.yaml");
    for (content, expected) in [
        ("actions:\n  Build/Make: {pth: x}\n", "pth"),
        ("actions:\n  Make: {path: x}\n", "Stage/Action"),
        ("action:\n  Build/Make: {path: x}\n", "action"),
    ] {
        write(&settings, content);
        for args in [
            &["import", "settings.json"][..],
            &["validate", "settings.json"],
            &["run", "settings.json"],
        ] {
            let output = env.run(&env.work, args);
            assert_eq!(output.status.code(), Some(1), "{args:?}: {}", text(&output));
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains("settings.pipewright.yaml"),
                "{args:?} names the settings file: {stderr}"
            );
            assert!(stderr.contains(expected), "{args:?}: {stderr}");
        }
    }
    // The same in a JSON settings file named with --settings.
    std::fs::remove_file(&settings).expect("rm");
    write(
        &env.work.join("local.json"),
        r#"{"actions": {"Make": {"path": "x"}}}"#,
    );
    let output = env.run(
        &env.work,
        &["import", "settings.json", "--settings", "local.json"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("local.json") && stderr.contains("Stage/Action"),
        "{stderr}"
    );

    let pipelines = env.json(&["pipelines", "--json"]);
    assert_eq!(
        pipelines["pipelines"].as_array().map(Vec::len),
        Some(0),
        "nothing was imported: {pipelines}"
    );
}

// ---------------------------------------------------------------------------------------------
// 12. CodeBuild
// ---------------------------------------------------------------------------------------------

#[test]
fn codebuild_uses_the_settings_buildspec_and_its_artifacts_section() {
    let env = Env::new();
    // The buildspec.yml in the source would fail: the settings name another one.
    write(
        &env.work.join("src/buildspec.yml"),
        "version: 0.2\nphases:\n  build:\n    commands:\n      - exit 3\n",
    );
    write(&env.work.join("src/README"), "not part of the output\n");
    write(
        &env.work.join("ci/local.yml"),
        r#"version: 0.2
phases:
  build:
    commands:
      - mkdir -p dist/js/vendor
      - echo page > dist/index.html
      - echo code > dist/js/app.js
      - echo lib > dist/js/vendor/lib.js
      - echo log > build.log
artifacts:
  base-directory: dist
  files:
    - '**/*.js'
    - index.html
  discard-paths: yes
"#,
    );
    let pipeline = r##"name: cbart
pipelineType: V2
stages:
  - name: Source
    actions:
      - name: Src
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: '1'}
        configuration: {S3Bucket: b, S3ObjectKey: src.zip}
        outputArtifacts: [{name: Src}]
  - name: Build
    actions:
      - name: Compile
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: '1'}
        configuration: {ProjectName: p}
        inputArtifacts: [{name: Src}]
        outputArtifacts: [{name: Site}]
  - name: Check
    actions:
      - name: List
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: '1'}
        inputArtifacts: [{name: Site}]
        commands: ['find . -type f | sort | sed "s/^/file /"']
"##;
    write(&env.work.join("cbart.yaml"), pipeline);
    write(
        &env.work.join("cbart.pipewright.yaml"),
        "actions:\n  Source/Src: {path: src}\n  Build/Compile: {buildspec: ci/local.yml}\n",
    );
    let output = env.run(&env.work, &["run", "cbart.yaml"]);
    assert!(output.status.success(), "{}", text(&output));
    let files: Vec<String> = env
        .logs("cbart", "Check/List")
        .lines()
        .filter_map(|l| l.split_once("file ./").map(|(_, f)| format!("./{f}")))
        .collect();
    assert_eq!(
        files,
        ["./app.js", "./index.html", "./lib.js"],
        "from dist only, the chosen files, their folders dropped"
    );
    let compile = env.logs("cbart", "Build/Compile");
    assert!(compile.contains("ci/local.yml"), "{compile}");
}

#[test]
fn codebuild_primary_source_names_the_input_it_builds_in() {
    let env = Env::new();
    for (dir, word) in [("one", "first"), ("two", "second")] {
        write(
            &env.work.join(format!("{dir}/buildspec.yml")),
            &format!(
                "version: 0.2\nphases:\n  build:\n    commands:\n      - echo building the {word} input\n      - cat $CODEBUILD_SRC_DIR_One/marker\n"
            ),
        );
        write(
            &env.work.join(format!("{dir}/marker")),
            &format!("marker of {dir}\n"),
        );
    }
    let source = |name: &str| {
        format!(
            r#"{{"name": "{name}", "actionTypeId": {{"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}},
               "configuration": {{"S3Bucket": "b", "S3ObjectKey": "{name}.zip"}}, "outputArtifacts": [{{"name": "{name}"}}]}}"#
        )
    };
    write(
        &env.work.join("primary.json"),
        &format!(
            r#"{{"name": "primary", "pipelineType": "V2", "stages": [
              {{"name": "Source", "actions": [{}, {}]}},
              {{"name": "Build", "actions": [{{"name": "Compile", "actionTypeId": {{"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"}},
                "configuration": {{"ProjectName": "p", "PrimarySource": "Two"}}, "inputArtifacts": [{{"name": "One"}}, {{"name": "Two"}}]}}]}}]}}"#,
            source("One"),
            source("Two")
        ),
    );
    write(
        &env.work.join("primary.pipewright.yaml"),
        "actions:\n  Source/One: {path: one}\n  Source/Two: {path: two}\n",
    );
    let output = env.run(&env.work, &["run", "primary.json"]);
    assert!(output.status.success(), "{}", text(&output));
    let logs = env.logs("primary", "Build/Compile");
    assert!(logs.contains("building the second input"), "{logs}");
    assert!(
        logs.contains("marker of one"),
        "the other input is at CODEBUILD_SRC_DIR_One: {logs}"
    );
}

#[test]
fn codebuild_runs_post_build_after_a_failed_build_and_exports_variables() {
    let env = Env::new();
    write(
        &env.work.join("src/buildspec.yml"),
        r#"version: 0.2
env:
  exported-variables:
    - VERSION
    - NOTE
phases:
  build:
    commands:
      - export VERSION=2.0.1
      - export NOTE="two words = ok"
      - test "$FAIL" != yes
      - echo after the failing command
  post_build:
    commands:
      - echo "post_build ran succeeding=$CODEBUILD_BUILD_SUCCEEDING"
"#,
    );
    let pipeline = r##"name: cb
pipelineType: V2
variables: [{name: fail, defaultValue: "no"}]
stages:
  - name: Source
    actions:
      - name: Src
        actionTypeId: {category: Source, owner: AWS, provider: S3, version: '1'}
        configuration: {S3Bucket: b, S3ObjectKey: src.zip}
        outputArtifacts: [{name: Src}]
  - name: Build
    actions:
      - name: Compile
        namespace: BuildVars
        actionTypeId: {category: Build, owner: AWS, provider: CodeBuild, version: '1'}
        configuration:
          ProjectName: p
          EnvironmentVariables: '[{"name":"FAIL","value":"#{variables.fail}","type":"PLAINTEXT"}]'
        inputArtifacts: [{name: Src}]
  - name: Use
    actions:
      - name: Show
        actionTypeId: {category: Compute, owner: AWS, provider: Commands, version: '1'}
        inputArtifacts: [{name: Src}]
        commands: ['echo "version=#{BuildVars.VERSION} note=#{BuildVars.NOTE}"']
"##;
    write(&env.work.join("cb.yaml"), pipeline);
    write(
        &env.work.join("cb.pipewright.yaml"),
        "actions: {\"Source/Src\": {path: src}}\n",
    );

    let output = env.run(&env.work, &["run", "cb.yaml"]);
    assert!(output.status.success(), "{}", text(&output));
    let show = env.logs("cb", "Use/Show");
    assert!(
        show.contains("version=2.0.1 note=two words = ok"),
        "exported variables reach a later action through the namespace: {show}"
    );
    let actions = env.json(&["actions", "cb", "--json"]);
    let compile = actions["actionExecutionDetails"]
        .as_array()
        .expect("list")
        .iter()
        .find(|d| d["actionName"] == "Compile")
        .expect("Compile ran")
        .clone();
    assert_eq!(compile["output"]["outputVariables"]["VERSION"], "2.0.1");

    let output = env.run(&env.work, &["run", "cb", "--var", "fail=yes"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let logs = env.logs("cb", "Build/Compile");
    assert!(
        logs.contains("post_build ran succeeding=0"),
        "post_build runs after a failed build: {logs}"
    );
    assert!(
        !logs.contains("after the failing command"),
        "the build phase stopped at its failing command: {logs}"
    );
    let state = env.json(&["state", "cb", "--json"]);
    assert_eq!(action_status(&state, "Build", "Compile"), "Failed");
    let executions = env.executions("cb");
    assert_eq!(executions[0]["status"], "Failed");
    let use_ran_in_failed = env.run(
        &env.work,
        &[
            "logs",
            "cb",
            "--action",
            "Use/Show",
            "--execution",
            executions[0]["pipelineExecutionId"].as_str().expect("id"),
        ],
    );
    assert!(
        !use_ran_in_failed.status.success(),
        "nothing after the failed stage ran: {}",
        text(&use_ran_in_failed)
    );
}

/// The index lists `config/x`, but in the working tree `config` has become a symlink to a
/// directory outside the repository: a working-copy source must neither read nor write there.
#[test]
fn a_working_copy_source_does_not_follow_a_directory_that_became_a_symlink() {
    let env = Env::new();
    let repo = env.work.join("repo");
    std::fs::create_dir_all(repo.join("config")).expect("repo dir");
    git(&repo, &["init", "-q", "-b", "main"]);
    write(&repo.join("config/x"), "committed\n");
    write(&repo.join("app.txt"), "app\n");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "config"]);
    let outside = env.work.join("outside");
    std::fs::create_dir_all(&outside).expect("outside dir");
    write(&outside.join("x"), "precious\n");
    std::fs::remove_dir_all(repo.join("config")).expect("remove config");
    std::os::unix::fs::symlink(&outside, repo.join("config")).expect("symlink");
    let pipeline = pipeline_json(
        "escape",
        &[
            stage_json(
                "Source",
                &[action_json(
                    "App",
                    "Source",
                    "CodeCommit",
                    r#", "configuration": {"RepositoryName": "app", "BranchName": "main"}, "outputArtifacts": [{"name": "Src"}]"#,
                )],
            ),
            stage_json(
                "Build",
                &[action_json(
                    "Check",
                    "Compute",
                    "Commands",
                    r#", "inputArtifacts": [{"name": "Src"}], "commands": ["cat app.txt"]"#,
                )],
            ),
        ],
    );
    write(&env.work.join("escape.json"), &pipeline);
    write(
        &env.work.join("escape.pipewright.yaml"),
        "actions: {\"Source/App\": {path: repo, workingCopy: true}}\n",
    );
    let _ = env.run(&env.work, &["run", "escape.json"]);
    assert_eq!(
        std::fs::read_to_string(outside.join("x")).expect("still there"),
        "precious\n"
    );
}
