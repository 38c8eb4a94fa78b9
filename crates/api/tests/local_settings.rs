//! The local settings form the app shows for a stored pipeline with no settings: the plan's
//! proposals, a folder chosen for the source, saved with the pipeline's latest version (no new
//! version), and the pipeline then running as the form said.

use std::time::{Duration, Instant};

use pipewright_api::engine::EngineOptions;
use pipewright_api::model::{Format, PipelineDocument};
use pipewright_api::{ActionKind, How, LocalAction, Pipewright};

/// As `get-pipeline` gives a real one: a connection source, a CloudFormation deploy whose
/// output a later Commands action reads, an S3 deploy, and runOrders left out.
const PIPELINE: &str = r##"{"pipeline": {"name": "shop", "pipelineType": "V2", "roleArn": "arn:aws:iam::123456789012:role/p",
  "artifactStore": {"type": "S3", "location": "b"},
  "stages": [
    {"name": "Source", "actions": [{"name": "App",
      "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
      "configuration": {"ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/x", "FullRepositoryId": "acme/shop", "BranchName": "main"},
      "outputArtifacts": [{"name": "SourceOutput"}]}]},
    {"name": "Deploy", "actions": [
      {"name": "Stack", "namespace": "StackVars",
       "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"},
       "configuration": {"StackName": "shop", "ActionMode": "CREATE_UPDATE"}, "inputArtifacts": [{"name": "SourceOutput"}]},
      {"name": "Smoke", "runOrder": 2,
       "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"},
       "commands": ["echo smoke of #{StackVars.ApiUrl} > smoke.txt", "cat app.txt >> smoke.txt"],
       "inputArtifacts": [{"name": "SourceOutput"}], "outputArtifacts": [{"name": "Smoked", "files": ["smoke.txt"]}]},
      {"name": "Site", "runOrder": 3,
       "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "S3", "version": "1"},
       "configuration": {"BucketName": "site", "Extract": "true"}, "inputArtifacts": [{"name": "Smoked"}]}]}
  ]}, "metadata": {"pipelineArn": "arn:aws:codepipeline:us-east-1:123456789012:shop"}}"##;

fn action<'a>(form: &'a [LocalAction], key: &str) -> &'a LocalAction {
    form.iter()
        .find(|a| a.key == key)
        .unwrap_or_else(|| panic!("{key} in the form"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_with_no_settings_runs_after_its_form_is_saved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let api = Pipewright::open_with(EngineOptions::new(dir.path().join("data")), "test")
        .await
        .expect("open");
    let document = PipelineDocument::parse(PIPELINE, Format::Json).expect("pipeline");
    api.import(&document, None).await.expect("import");
    let refused = api.start("shop", &Default::default(), None).await;
    assert!(refused.is_err(), "an unmapped source cannot run");

    let form = api.local_settings_form("shop").await.expect("form");
    assert!(form.needs_plan);
    let source = action(&form.actions, "Source/App");
    assert_eq!(source.kind, ActionKind::Source);
    assert_eq!(source.how, How::NeedsFolder);
    let stack = action(&form.actions, "Deploy/Stack");
    assert_eq!(stack.kind, ActionKind::NoRunner);
    assert!(stack.proposed);
    assert_eq!(
        stack.how,
        How::Simulate {
            output_variables: [(
                "ApiUrl".to_owned(),
                "placeholder-StackVars.ApiUrl".to_owned()
            )]
            .into()
        }
    );
    let site = action(&form.actions, "Deploy/Site");
    assert_eq!(site.kind, ActionKind::Deploy);
    let How::Folder {
        path: site_path, ..
    } = &site.how
    else {
        panic!("the deploy writes into a folder: {:?}", site.how);
    };
    assert!(
        site_path.ends_with("deploys/shop/Deploy-Site"),
        "{site_path}"
    );
    assert_eq!(
        action(&form.actions, "Deploy/Smoke").kind,
        ActionKind::Build
    );

    // Refused, and nothing saved: a source with no folder, a relative path.
    let mut choices = form.actions.clone();
    let error = api
        .save_local_settings("shop", &choices)
        .await
        .expect_err("a source needs a folder");
    assert!(
        error.message.contains("Source/App needs a folder"),
        "{error}"
    );
    let source_dir = dir.path().join("shop");
    std::fs::create_dir(&source_dir).expect("source dir");
    std::fs::write(source_dir.join("app.txt"), "the app\n").expect("file");
    choices[0].how = How::Folder {
        path: "shop".to_owned(),
        working_copy: false,
    };
    let error = api
        .save_local_settings("shop", &choices)
        .await
        .expect_err("a relative path");
    assert!(error.message.contains("not a full path"), "{error}");
    let unchanged = api.local_settings_form("shop").await.expect("form");
    assert!(unchanged.needs_plan, "a refused save keeps nothing");
    assert!(unchanged.actions.iter().all(|a| {
        a.how
            == form
                .actions
                .iter()
                .find(|f| f.key == a.key)
                .expect("same actions")
                .how
    }));

    // The user's choices: the folder, and the stack's API URL given by hand.
    choices[0].how = How::Folder {
        path: source_dir.display().to_string(),
        working_copy: false,
    };
    choices[1].how = How::Simulate {
        output_variables: [("ApiUrl".to_owned(), "https://api.test".to_owned())].into(),
    };
    api.save_local_settings("shop", &choices)
        .await
        .expect("saved");
    let saved = api.local_settings_form("shop").await.expect("form");
    assert!(!saved.needs_plan, "{:?}", saved.actions);
    assert!(saved.actions.iter().all(|a| !a.proposed));
    assert_eq!(saved.version, form.version, "settings make no new version");

    let id = api
        .start("shop", &Default::default(), None)
        .await
        .expect("runs now");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let execution = api.get_execution("shop", &id).await.expect("execution");
        let status = execution.pipeline_execution.status;
        if status != "InProgress" || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, "Succeeded");
    let deployed = dir.path().join("data/deploys/shop/Deploy-Site/smoke.txt");
    assert_eq!(
        std::fs::read_to_string(&deployed).expect("deployed"),
        "smoke of https://api.test\nthe app\n"
    );
    api.close().await.expect("close");
}
