//! The local plan's cases, from real-shaped declarations.
use super::*;
use crate::settings::{ProjectVariable, StoredReference};

fn pipeline(json: serde_json::Value) -> PipelineDeclaration {
    serde_json::from_value(json).expect("a pipeline")
}

fn action(name: &str, category: &str, provider: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "actionTypeId": {"category": category, "owner": "AWS", "provider": provider, "version": "1"},
        "runOrder": 1
    })
}

fn real_shaped() -> PipelineDeclaration {
    let mut source = action("App", "Source", "CodeStarSourceConnection");
    source["outputArtifacts"] = serde_json::json!([{"name": "SourceOutput"}]);
    let mut tools = action("Tools", "Source", "CodeCommit");
    tools["outputArtifacts"] = serde_json::json!([{"name": "ToolsOutput"}]);
    let mut build = action("Compile", "Build", "CodeBuild");
    build["inputArtifacts"] = serde_json::json!([{"name": "SourceOutput"}]);
    let mut stack = action("Stack", "Deploy", "CloudFormation");
    stack["namespace"] = serde_json::json!("StackVars");
    let mut smoke = action("Smoke", "Build", "CodeBuild");
    smoke["inputArtifacts"] = serde_json::json!([{"name": "SourceOutput"}]);
    smoke["runOrder"] = serde_json::json!(2);
    smoke["configuration"] = serde_json::json!({
        "ProjectName": "smoke",
        "EnvironmentVariables": "[{\"name\":\"URL\",\"value\":\"#{StackVars.ApiUrl}\",\"type\":\"PLAINTEXT\"}]"
    });
    pipeline(serde_json::json!({
        "name": "shop",
        "roleArn": "arn:aws:iam::123456789012:role/x",
        "artifactStore": {"type": "S3", "location": "b"},
        "stages": [
            {"name": "Source", "actions": [source, tools]},
            {"name": "Build", "actions": [build]},
            {"name": "Deploy", "actions": [stack, smoke]}
        ]
    }))
}

#[test]
fn the_first_source_reads_the_working_copy_and_a_second_one_needs_a_path() {
    let context = PlanContext {
        working_copy: Some(PathBuf::from("/repo")),
        ..PlanContext::default()
    };
    let plan = propose(&real_shaped(), &LocalSettings::default(), &context);
    assert_eq!(
        plan.actions[0].choice,
        Choice::WorkingCopy {
            repo: PathBuf::from("/repo")
        }
    );
    assert_eq!(plan.missing_sources, vec!["Source/Tools".to_owned()]);
    let none = propose(
        &real_shaped(),
        &LocalSettings::default(),
        &PlanContext::default(),
    );
    assert_eq!(
        none.missing_sources,
        vec!["Source/App".to_owned(), "Source/Tools".to_owned()]
    );
}

#[test]
fn a_simulated_action_reports_the_variables_later_actions_reference() {
    let plan = propose(
        &real_shaped(),
        &LocalSettings::default(),
        &PlanContext::default(),
    );
    let stack = plan
        .actions
        .iter()
        .find(|a| a.key == "Deploy/Stack")
        .expect("the stack is planned");
    let mut expected = IndexMap::new();
    expected.insert(
        "ApiUrl".to_owned(),
        "placeholder-StackVars.ApiUrl".to_owned(),
    );
    assert_eq!(
        stack.choice,
        Choice::Simulate {
            variables: expected.clone(),
            observed_in: None,
        }
    );
    let settings = plan.apply(&LocalSettings::default());
    let saved = settings.action("Deploy", "Stack").expect("saved");
    assert!(saved.simulate);
    assert_eq!(saved.output_variables, expected);
}

#[test]
fn mapped_actions_are_left_as_they_are_and_builds_are_shown_not_saved() {
    let settings = LocalSettings::parse(
        "actions:\n  Source/App: {path: /src}\n  Source/Tools: {path: /tools}\n  Deploy/Stack: {commands: [./deploy.sh]}\n",
        "x.yaml",
        Path::new("/"),
    )
    .expect("settings");
    let plan = propose(&real_shaped(), &settings, &PlanContext::default());
    assert!(plan.missing_sources.is_empty());
    assert!(!plan.changes_settings(), "{plan:?}");
    assert_eq!(
        plan.actions[0].choice,
        Choice::Build {
            buildspec: "buildspec.yml from SourceOutput".to_owned(),
            place: "this machine".to_owned(),
            project: None,
        }
    );
}

#[test]
fn a_given_source_path_wins_over_the_working_copy() {
    let context = PlanContext {
        working_copy: Some(PathBuf::from("/repo")),
        sources: IndexMap::from([("Source/App".to_owned(), PathBuf::from("/elsewhere"))]),
        ..PlanContext::default()
    };
    let plan = propose(&real_shaped(), &LocalSettings::default(), &context);
    assert_eq!(
        plan.actions[0].choice,
        Choice::Path {
            path: PathBuf::from("/elsewhere"),
            git: false
        }
    );
    // The working copy goes to the next source that has none.
    assert_eq!(
        plan.actions[1].choice,
        Choice::WorkingCopy {
            repo: PathBuf::from("/repo")
        }
    );
}

#[test]
fn a_pulled_project_gives_its_build_what_codebuild_would() {
    let project = BuildProject {
        name: "shop-build".to_owned(),
        buildspec: ProjectBuildspec::File {
            path: PathBuf::from("/pulled/shop.Build+Compile.buildspec.yml"),
            from: "inline".to_owned(),
        },
        image: Some("aws/codebuild/standard:7.0".to_owned()),
        privileged: true,
        environment_variables: IndexMap::from([
            (
                "STAGE".to_owned(),
                ProjectVariable::Plain("prod".to_owned()),
            ),
            (
                "DB_PASSWORD".to_owned(),
                ProjectVariable::Stored(StoredReference::ParameterStore(
                    "/shop/db/password".to_owned(),
                )),
            ),
        ]),
    };
    let context = PlanContext {
        working_copy: Some(PathBuf::from("/repo")),
        sources: IndexMap::from([("Source/Tools".to_owned(), PathBuf::from("/tools"))]),
        projects: IndexMap::from([("Build/Compile".to_owned(), project)]),
        ..PlanContext::default()
    };
    let plan = propose(&real_shaped(), &LocalSettings::default(), &context);
    let build = plan
        .actions
        .iter()
        .find(|a| a.key == "Build/Compile")
        .expect("the build is planned");
    let saved = build.settings.as_ref().expect("a pulled project is saved");
    assert_eq!(
        saved.buildspec,
        Some(PathBuf::from("/pulled/shop.Build+Compile.buildspec.yml"))
    );
    assert_eq!(
        saved.image.as_deref(),
        Some("public.ecr.aws/codebuild/standard:7.0")
    );
    assert_eq!(saved.privileged, Some(true));
    assert_eq!(saved.environment_variables.len(), 2);
    let described = build.choice.describe();
    assert!(
        described.starts_with(
            "project shop-build: runs its inline buildspec (saved as \
             /pulled/shop.Build+Compile.buildspec.yml) on image \
             public.ecr.aws/codebuild/standard:7.0 ("
        ) && described.ends_with(", privileged)"),
        "{described}"
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n
                .starts_with("Build/Compile: DB_PASSWORD reads Parameter Store /shop/db/password")),
        "{:?}",
        plan.notes
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("runs here as public.ecr.aws/codebuild/standard:7.0")),
        "{:?}",
        plan.notes
    );
    // A build without a project stays as its settings say, and saves nothing.
    let smoke = plan
        .actions
        .iter()
        .find(|a| a.key == "Deploy/Smoke")
        .expect("smoke");
    assert_eq!(smoke.settings, None);
}

#[test]
fn a_simulated_action_reports_what_it_reported_on_aws_and_placeholders_for_the_rest() {
    let context = PlanContext {
        observed: IndexMap::from([(
            "Deploy/Stack".to_owned(),
            Observed {
                run: "execution e-1 on AWS".to_owned(),
                variables: IndexMap::from([(
                    "StackId".to_owned(),
                    "arn:aws:cloudformation:us-east-1:123456789012:stack/shop/1".to_owned(),
                )]),
            },
        )]),
        ..PlanContext::default()
    };
    let plan = propose(&real_shaped(), &LocalSettings::default(), &context);
    let stack = plan
        .actions
        .iter()
        .find(|a| a.key == "Deploy/Stack")
        .expect("the stack is planned");
    let Choice::Simulate {
        variables,
        observed_in,
    } = &stack.choice
    else {
        panic!("simulated: {:?}", stack.choice);
    };
    assert_eq!(observed_in.as_deref(), Some("execution e-1 on AWS"));
    assert_eq!(
        variables.get("StackId").map(String::as_str),
        Some("arn:aws:cloudformation:us-east-1:123456789012:stack/shop/1")
    );
    assert_eq!(
        variables.get("ApiUrl").map(String::as_str),
        Some("placeholder-StackVars.ApiUrl"),
        "what a later action reads and AWS did not report is a placeholder"
    );
}

#[test]
fn masked_values_are_named() {
    let mut pipeline = real_shaped();
    pipeline.stages[0].actions[1].configuration = Some(IndexMap::from([
        (
            "OAuthToken".to_owned(),
            pipewright_model::catalog::MASKED_VALUE.to_owned(),
        ),
        ("Owner".to_owned(), "me".to_owned()),
    ]));
    let plan = propose(
        &pipeline,
        &LocalSettings::default(),
        &PlanContext::default(),
    );
    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    assert!(plan.notes[0].starts_with("Source/Tools: OAuthToken is masked (****)"));
}

#[test]
fn buildspecs_are_told_apart_as_codebuild_tells_them() {
    assert_eq!(classify_buildspec(None), BuildspecText::Default);
    assert_eq!(classify_buildspec(Some("")), BuildspecText::Default);
    assert_eq!(
        classify_buildspec(Some("ci/buildspec.yml")),
        BuildspecText::InSource("ci/buildspec.yml")
    );
    assert_eq!(
        classify_buildspec(Some(
            "version: 0.2\nphases:\n  build:\n    commands: [make]\n"
        )),
        BuildspecText::Inline("version: 0.2\nphases:\n  build:\n    commands: [make]\n")
    );
    assert_eq!(
        classify_buildspec(Some("{version: 0.2, phases: {build: {commands: [make]}}}")),
        BuildspecText::Inline("{version: 0.2, phases: {build: {commands: [make]}}}")
    );
    assert_eq!(
        classify_buildspec(Some("arn:aws-cn:s3:::specs/app/buildspec.yml")),
        BuildspecText::S3 {
            bucket: "specs",
            key: "app/buildspec.yml"
        }
    );
    assert_eq!(
        classify_buildspec(Some("arn:aws:s3:::specs/app/buildspec.yml")),
        BuildspecText::S3 {
            bucket: "specs",
            key: "app/buildspec.yml"
        }
    );
}

#[test]
fn codebuild_s_own_images_run_as_their_public_copies() {
    assert_eq!(
        local_image("aws/codebuild/amazonlinux2-x86_64-standard:5.0").0,
        "public.ecr.aws/codebuild/amazonlinux2-x86_64-standard:5.0"
    );
    let (same, note) = local_image("123456789012.dkr.ecr.us-east-1.amazonaws.com/build:1");
    assert_eq!(same, "123456789012.dkr.ecr.us-east-1.amazonaws.com/build:1");
    assert!(note.is_some_and(|n| n.contains("podman login")));
    assert_eq!(local_image("node:20"), ("node:20".to_owned(), None));
}
