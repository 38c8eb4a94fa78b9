//! The local plan through the real binary: a real-shaped pipeline with no local settings runs
//! from inside its git repository with `--yes` (the working copy is the source, the deploy is
//! simulated with the variables a later action uses, the plan is saved, the next run asks
//! nothing), off a terminal the plan is shown and refused, `--source` places a second source,
//! and `prepare` extends a settings file the user wrote without losing any of it.

mod common;

use std::path::{Path, PathBuf};

use common::*;

/// A `get-pipeline` dump as AWS prints it: a CodeStar connection source, a CodeBuild build whose
/// project lives on AWS, a CloudFormation deploy with a namespace, and a smoke test that reads the
/// stack's output through `#{StackVars.ApiUrl}` in its EnvironmentVariables (JSON in a string).
/// Some actions have no runOrder, and booleans are strings, as in real dumps.
fn shop_pipeline(extra_source: &str) -> String {
    format!(
        r##"{{
  "pipeline": {{
    "name": "shop",
    "roleArn": "arn:aws:iam::123456789012:role/service-role/AWSCodePipelineServiceRole-shop",
    "artifactStore": {{"type": "S3", "location": "codepipeline-eu-west-1-123456789012"}},
    "stages": [
      {{"name": "Source", "actions": [
        {{"name": "App",
         "actionTypeId": {{"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"}},
         "runOrder": 1,
         "configuration": {{
           "ConnectionArn": "arn:aws:codeconnections:eu-west-1:123456789012:connection/0f2d8c1e-1111-2222-3333-444455556666",
           "FullRepositoryId": "example/shop", "BranchName": "main",
           "OutputArtifactFormat": "CODE_ZIP", "DetectChanges": "false"}},
         "outputArtifacts": [{{"name": "SourceOutput"}}],
         "namespace": "SourceVariables", "region": "eu-west-1"}}{extra_source}
      ]}},
      {{"name": "Build", "actions": [
        {{"name": "Compile",
         "actionTypeId": {{"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"}},
         "configuration": {{"ProjectName": "shop-build"}},
         "inputArtifacts": [{{"name": "SourceOutput"}}],
         "outputArtifacts": [{{"name": "BuildOutput"}}]}}
      ]}},
      {{"name": "Deploy", "actions": [
        {{"name": "Stack",
         "actionTypeId": {{"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"}},
         "runOrder": 1,
         "configuration": {{
           "ActionMode": "CREATE_UPDATE", "StackName": "shop",
           "Capabilities": "CAPABILITY_IAM,CAPABILITY_AUTO_EXPAND",
           "RoleArn": "arn:aws:iam::123456789012:role/cfn-deploy",
           "TemplatePath": "BuildOutput::packaged.yaml"}},
         "inputArtifacts": [{{"name": "BuildOutput"}}],
         "namespace": "StackVars"}},
        {{"name": "Smoke",
         "actionTypeId": {{"category": "Test", "owner": "AWS", "provider": "CodeBuild", "version": "1"}},
         "runOrder": 2,
         "configuration": {{
           "ProjectName": "shop-smoke",
           "EnvironmentVariables": "[{{\"name\":\"API_URL\",\"value\":\"#{{StackVars.ApiUrl}}\",\"type\":\"PLAINTEXT\"}}]"}},
         "inputArtifacts": [{{"name": "SourceOutput"}}]}}
      ]}}
    ],
    "version": 7,
    "pipelineType": "V2",
    "executionMode": "QUEUED"
  }},
  "metadata": {{
    "pipelineArn": "arn:aws:codepipeline:eu-west-1:123456789012:shop",
    "created": "2026-03-02T10:11:12.345000+00:00",
    "updated": "2026-11-20T08:00:00.000000+00:00"
  }}
}}
"##
    )
}

const BUILDSPEC: &str = "version: 0.2
phases:
  build:
    commands:
      - echo \"version $(cat VERSION)\"
      - 'if [ -n \"$API_URL\" ]; then echo \"smoke test against $API_URL\"; fi'
      - 'if [ -n \"$CODEBUILD_SRC_DIR_ToolsOutput\" ]; then echo \"tool: $(cat $CODEBUILD_SRC_DIR_ToolsOutput/tool.txt)\"; fi'
      - echo Resources > packaged.yaml
artifacts:
  files: packaged.yaml
";

/// The shop's repository, with the pipeline in `ci/` and an uncommitted change to VERSION.
fn shop_repo(env: &Env, extra_source: &str) -> PathBuf {
    let repo = env.work.join("shop");
    write(&repo.join("buildspec.yml"), BUILDSPEC);
    write(&repo.join("VERSION"), "1.0\n");
    write(&repo.join("ci/pipeline.json"), &shop_pipeline(extra_source));
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", "Release 1.0"]);
    write(&repo.join("VERSION"), "1.1-dev\n");
    repo
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn settings_file(repo: &Path) -> PathBuf {
    repo.join("ci/pipeline.pipewright.yaml")
}

#[test]
fn a_real_pipeline_runs_from_its_repository_with_yes_and_the_plan_is_kept() {
    let env = Env::new();
    let repo = shop_repo(&env, "");
    let output = env.run(&repo, &["run", "ci/pipeline.json", "--yes"]);
    assert!(output.status.success(), "{}", text(&output));
    let shown = stderr(&output);
    for expected in [
        "shop needs a local plan to run here:",
        "Source/App",
        &format!("the working copy of {}", repo.display()),
        "Build/Compile",
        "runs buildspec.yml from SourceOutput on this machine",
        "Deploy/Stack",
        "simulated: no local runner",
        "ApiUrl=placeholder-StackVars.ApiUrl",
        "Saved the plan to ci/pipeline.pipewright.yaml",
    ] {
        assert!(shown.contains(expected), "{expected:?} in:\n{shown}");
    }

    // The uncommitted change was built, and the revision says it was not the commit alone.
    let compile = env.logs("shop", "Build/Compile");
    assert!(compile.contains("version 1.1-dev"), "{compile}");
    let executions = env.executions("shop");
    assert_eq!(executions[0]["status"], "Succeeded", "{executions:?}");
    let revision = &executions[0]["sourceRevisions"][0];
    assert_eq!(
        revision["revisionId"],
        git(&repo, &["rev-parse", "HEAD"]).as_str()
    );
    assert_eq!(
        revision["revisionSummary"],
        "Release 1.0 (with uncommitted changes)"
    );

    // The deploy did not run and says so; the smoke test got its placeholder.
    let state = env.json(&["state", "shop", "--json"]);
    assert!(
        action_summary(&state, "Deploy", "Stack").contains("Simulated"),
        "{state}"
    );
    let smoke = env.logs("shop", "Deploy/Smoke");
    assert!(
        smoke.contains("smoke test against placeholder-StackVars.ApiUrl"),
        "{smoke}"
    );

    // The plan was saved beside the pipeline, with paths relative to it.
    let saved = std::fs::read_to_string(settings_file(&repo)).expect("the plan is saved");
    assert!(
        saved.contains("Source/App: {path: .., workingCopy: true}"),
        "{saved}"
    );
    assert!(saved.contains("Deploy/Stack: {"), "{saved}");

    // The next run, off a terminal and without --yes, asks nothing.
    let again = env.run(&repo, &["run", "ci/pipeline.json"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(!stderr(&again).contains("local plan"), "{}", stderr(&again));
    assert_eq!(env.executions("shop").len(), 2);
}

#[test]
fn off_a_terminal_the_plan_is_shown_and_nothing_runs_until_it_is_accepted() {
    let env = Env::new();
    let repo = shop_repo(&env, "");
    let output = env.run(&repo, &["run", "ci/pipeline.json"]);
    assert!(!output.status.success(), "{}", text(&output));
    let shown = stderr(&output);
    for expected in [
        "shop needs a local plan to run here:",
        "Deploy/Stack",
        "run again with --yes to accept it (it is saved to ci/pipeline.pipewright.yaml)",
        "pipewright prepare ci/pipeline.json",
    ] {
        assert!(shown.contains(expected), "{expected:?} in:\n{shown}");
    }
    assert!(!settings_file(&repo).exists(), "nothing is saved");
    let pipelines = env.json(&["pipelines", "--json"]);
    assert_eq!(
        pipelines["pipelines"].as_array().map(Vec::len),
        Some(0),
        "nothing is imported or started: {pipelines}"
    );
}

#[test]
fn a_second_source_needs_a_path_given_with_source() {
    let env = Env::new();
    let tools_source = r#",
        {"name": "Tools",
         "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeCommit", "version": "1"},
         "configuration": {"RepositoryName": "tools", "BranchName": "main", "PollForSourceChanges": "false"},
         "outputArtifacts": [{"name": "ToolsOutput"}]}"#;
    let repo = shop_repo(&env, tools_source);
    // The build takes both sources.
    let pipeline = std::fs::read_to_string(repo.join("ci/pipeline.json"))
        .expect("read")
        .replacen(
            r#""inputArtifacts": [{"name": "SourceOutput"}],
         "outputArtifacts": [{"name": "BuildOutput"}]"#,
            r#""inputArtifacts": [{"name": "SourceOutput"}, {"name": "ToolsOutput"}],
         "outputArtifacts": [{"name": "BuildOutput"}]"#,
            1,
        );
    write(&repo.join("ci/pipeline.json"), &pipeline);
    let tools = env.work.join("tools");
    write(&tools.join("tool.txt"), "linter 2.3\n");

    let refused = env.run(&repo, &["run", "ci/pipeline.json", "--yes"]);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        stderr(&refused).contains("Source/Tools needs a local path")
            && stderr(&refused).contains("--source Source/Tools=PATH"),
        "{}",
        stderr(&refused)
    );

    let output = env.run(
        &repo,
        &[
            "run",
            "ci/pipeline.json",
            "--yes",
            "--source",
            "Source/Tools=../tools",
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        stderr(&output).contains(&format!("the folder {}", tools.display())),
        "{}",
        stderr(&output)
    );
    let compile = env.logs("shop", "Build/Compile");
    assert!(compile.contains("tool: linter 2.3"), "{compile}");
    let saved = std::fs::read_to_string(settings_file(&repo)).expect("saved");
    assert!(
        saved.contains("Source/Tools: {path: ../../tools}"),
        "{saved}"
    );

    let wrong = env.run(
        &repo,
        &["run", "ci/pipeline.json", "--source", "Build/Compile=."],
    );
    assert!(
        stderr(&wrong).contains("Build/Compile is not a source action of shop"),
        "{}",
        text(&wrong)
    );
}

#[test]
fn prepare_extends_the_users_settings_file_and_keeps_what_is_there() {
    let env = Env::new();
    let repo = shop_repo(&env, "");
    let mine = "# Our local settings: keep this comment.\nparameterStore:\n  /shop/db-host: localhost   # the dev database\nactions:\n  Build/Compile: {buildspec: ../buildspec.yml}\n";
    write(&settings_file(&repo), mine);
    let output = env.run(&repo, &["prepare", "ci/pipeline.json"]);
    assert!(output.status.success(), "{}", text(&output));
    let saved = std::fs::read_to_string(settings_file(&repo)).expect("saved");
    assert!(saved.starts_with(mine), "what was there is kept:\n{saved}");
    assert!(saved.contains("  Source/App: {"), "{saved}");
    assert!(saved.contains("  Deploy/Stack: {"), "{saved}");
    let pipelines = env.json(&["pipelines", "--json"]);
    assert_eq!(
        pipelines["pipelines"].as_array().map(Vec::len),
        Some(0),
        "prepare imports and runs nothing: {pipelines}"
    );

    let again = env.run(&repo, &["prepare", "ci/pipeline.json"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("shop needs no plan"),
        "{}",
        text(&again)
    );
    assert_eq!(
        std::fs::read_to_string(settings_file(&repo)).expect("read"),
        saved
    );
}
