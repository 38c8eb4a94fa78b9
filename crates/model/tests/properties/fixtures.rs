//! Pipelines as AWS prints and takes them: they load, save as what they were, and validate as
//! expected.

use pipewright_model::{DocumentShape, Format, PipelineDocument, Severity, render, validate};
use serde_json::Value;

const GET_PIPELINE_V1: &str = include_str!("../fixtures/get-pipeline-v1.json");
const GET_PIPELINE_V2: &str = include_str!("../fixtures/get-pipeline-v2.json");
const CREATE_PIPELINE: &str = include_str!("../fixtures/create-pipeline-input.json");
const WEB_APP_YAML: &str = include_str!("../fixtures/web-app.yaml");
const BROKEN: &str = include_str!("../fixtures/broken-pipeline.json");

fn load(text: &str, format: Format) -> PipelineDocument {
    match PipelineDocument::parse(text, format) {
        Ok(doc) => doc,
        Err(error) => panic!("fixture does not load: {error}"),
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// The document saves as the value it was read from, and saving it as JSON or YAML and loading
/// that gives the same document and value again.
fn assert_round_trips(doc: &PipelineDocument, original: &Value) {
    assert_eq!(&doc.to_value(), original);
    for format in [Format::Json, Format::Yaml] {
        let text = doc.to_text(format);
        let again = load(&text, format);
        assert_eq!(&again, doc, "{format:?}:\n{text}");
        assert_eq!(&again.to_value(), original, "{format:?}:\n{text}");
    }
}

fn diagnostics(doc: &PipelineDocument) -> Vec<(Severity, &'static str, String)> {
    validate(&doc.pipeline)
        .into_iter()
        .map(|d| (d.severity, d.code, d.path))
        .collect()
}

#[test]
fn get_pipeline_v1_round_trips_and_is_valid() {
    let doc = load(GET_PIPELINE_V1, Format::Json);
    assert!(matches!(doc.shape, DocumentShape::Wrapped { .. }));
    assert_round_trips(&doc, &json(GET_PIPELINE_V1));
    assert_eq!(
        doc.metadata().and_then(|m| m.get("pipelineArn")),
        Some(&Value::from(
            "arn:aws:codepipeline:us-east-1:111122223333:MyFirstPipeline"
        ))
    );
    let approval = &doc.pipeline.stages[2].actions[0];
    assert!(approval.is_manual_approval());
    // `get-pipeline` prints empty artifact lists; they stay present and empty.
    assert_eq!(approval.input_artifacts.as_deref(), Some(&[][..]));
    assert_eq!(approval.output_artifacts.as_deref(), Some(&[][..]));
    assert_eq!(diagnostics(&doc), []);
}

#[test]
fn get_pipeline_v2_round_trips_and_is_valid() {
    let doc = load(GET_PIPELINE_V2, Format::Json);
    assert_round_trips(&doc, &json(GET_PIPELINE_V2));
    let p = &doc.pipeline;
    assert_eq!(p.execution_mode().as_str(), "QUEUED");
    assert_eq!(p.variables()[0].default_value.as_deref(), Some("staging"));
    let build = p.stage("Build").expect("Build stage");
    assert_eq!(
        build
            .on_failure
            .as_ref()
            .and_then(|f| f.retry_configuration.as_ref())
            .and_then(|r| r.retry_mode.as_ref())
            .map(|m| m.as_str()),
        Some("FAILED_ACTIONS")
    );
    assert_eq!(build.actions[0].output_variables(), ["IMAGE_TAG"]);
    assert_eq!(build.actions[0].environment_variables().len(), 2);
    let triggers = p.triggers.as_deref().expect("triggers");
    assert_eq!(triggers[0].git_configuration.source_action_name, "Source");
    assert_eq!(diagnostics(&doc), []);
}

#[test]
fn create_pipeline_input_keeps_its_tags() {
    let doc = load(CREATE_PIPELINE, Format::Json);
    assert_round_trips(&doc, &json(CREATE_PIPELINE));
    assert_eq!(
        doc.tags().get(1).map(|(key, _)| key.as_str()),
        Some("cost-center")
    );
    let stores = doc
        .pipeline
        .artifact_stores
        .as_ref()
        .expect("artifactStores");
    assert_eq!(
        stores.keys().map(String::as_str).collect::<Vec<_>>(),
        ["us-east-1", "eu-west-1"]
    );
    // Key order is kept on save: `tags` stays after `pipeline`.
    let text = doc.to_text(Format::Json);
    assert!(text.find("\"pipeline\"") < text.find("\"tags\""));
    assert_eq!(diagnostics(&doc), []);
}

#[test]
fn yaml_fixture_is_the_v2_pipeline() {
    let yaml = load(WEB_APP_YAML, Format::Yaml);
    assert_eq!(yaml.shape, DocumentShape::Bare);
    let from_json = load(GET_PIPELINE_V2, Format::Json);
    // `DetectChanges: false` and `Extract: false` are YAML booleans read as AWS's strings.
    assert_eq!(yaml.pipeline, from_json.pipeline);
    let declaration = json(GET_PIPELINE_V2)["pipeline"].clone();
    assert_round_trips(&yaml, &declaration);
    // What Pipewright writes as YAML reads back as the same JSON value.
    let written = render(&declaration, Format::Yaml);
    assert_eq!(load(&written, Format::Yaml).to_value(), declaration);
    assert_eq!(diagnostics(&yaml), []);
}

#[test]
fn broken_pipeline_reports_every_problem_where_it_is() {
    let doc = load(BROKEN, Format::Json);
    assert_round_trips(&doc, &json(BROKEN));
    let found = diagnostics(&doc);
    let expected: Vec<(Severity, &str, String)> = [
        (Severity::Error, "invalid-name", "/name"),
        (Severity::Aws, "missing-role-arn", "/roleArn"),
        (Severity::Aws, "requires-v2", "/executionMode"),
        (Severity::Error, "duplicate-stage-name", "/stages/2/name"),
        (
            Severity::Error,
            "run-order-range",
            "/stages/1/actions/0/runOrder",
        ),
        (
            Severity::Error,
            "unknown-input-artifact",
            "/stages/1/actions/0/inputArtifacts/0",
        ),
        (
            Severity::Error,
            "unknown-variable",
            "/stages/1/actions/0/configuration/ProjectName",
        ),
        (
            Severity::Error,
            "duplicate-action-name",
            "/stages/1/actions/1/name",
        ),
        (
            Severity::Aws,
            "timeout-not-supported",
            "/stages/1/actions/1/timeoutInMinutes",
        ),
        (
            Severity::Error,
            "namespace-not-yet-produced",
            "/stages/1/actions/1/configuration/EnvironmentVariables",
        ),
        (
            Severity::Error,
            "approval-timeout-range",
            "/stages/2/actions/0/timeoutInMinutes",
        ),
        (
            Severity::Error,
            "unknown-value",
            "/stages/2/actions/1/actionTypeId/owner",
        ),
    ]
    .into_iter()
    .map(|(severity, code, path)| (severity, code, path.to_owned()))
    .collect();
    let mut sorted_found = found.clone();
    sorted_found.sort();
    let mut sorted_expected = expected;
    sorted_expected.sort();
    assert_eq!(
        sorted_found, sorted_expected,
        "in document order: {found:#?}"
    );
}
