//! One action of an AWS execution, made to run again here (`pipewright --aws replay NAME
//! STAGE/ACTION`): most of all a failed one, to see why on this machine. ListActionExecutions
//! says what the action had: its input artifacts' S3 locations (downloaded here), its resolved
//! configuration, and the outputs of the execution's other actions (which fill the variable
//! references the configuration does not hold, such as a Commands action's commands). The
//! replay is a pipeline of its own: a stage of S3 sources that hand over the downloaded inputs,
//! then the action alone, with its CodeBuild project's buildspec, image and variables as `pull`
//! brings them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pipewright_api::engine::local_plan::PlanContext;
use pipewright_api::engine::objects::ObjectAddress;
use pipewright_api::engine::settings::ActionSettings;
use pipewright_api::engine::settings_file::{self, Entry};
use pipewright_api::model::{Action, ActionCategory, PipelineDeclaration, variables};
use pipewright_api::{ActionExecutionDetail, Backend, Error, Pipewright, Result};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::pull::{self, Fetched};
use crate::s3::S3Objects;
use crate::{AwsBackend, AwsConnection};

/// How far back ListActionExecutions is read for the action's latest run: five pages.
const SEARCH_LIMIT: usize = 500;

/// The stage that hands the downloaded inputs over.
pub const INPUTS_STAGE: &str = "Inputs";

/// A replay, written and ready to run.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The run on AWS being replayed.
    pub original: ActionExecutionDetail,
    /// Each input artifact and where it was downloaded from.
    pub inputs: Vec<(String, String)>,
    pub written: pull::Written,
    /// What could not be had from AWS.
    pub gaps: Vec<String>,
}

/// The S3 location ListActionExecutions gives an artifact.
#[derive(Deserialize)]
struct S3Location {
    bucket: String,
    key: String,
}

/// Finds the run (the newest of the action, or the one in `execution`), downloads its inputs
/// into `dir/inputs`, and writes the replay pipeline and its settings into `dir`.
pub async fn prepare(
    backend: &AwsBackend,
    connection: &AwsConnection,
    name: &str,
    stage: &str,
    action: &str,
    execution: Option<&str>,
    dir: &Path,
) -> Result<Prepared> {
    let key = format!("{stage}/{action}");
    // Absolute from here on: the settings written below name files in it by their full path.
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::new("IoError", format!("{}: {e}", dir.display())))?;
    let dir = &std::fs::canonicalize(dir)
        .map_err(|e| Error::new("IoError", format!("{}: {e}", dir.display())))?;
    let original = backend
        .action_executions(name, execution, SEARCH_LIMIT)
        .await?
        .into_iter()
        .find(|d| d.stage_name == stage && d.action_name == action)
        .ok_or_else(|| {
            Error::new(
                "ActionNotFoundException",
                match execution {
                    Some(id) => format!("execution {id} of {name} did not run {key}"),
                    None => format!(
                        "{name} has no run of {key} in its latest {SEARCH_LIMIT} action executions"
                    ),
                },
            )
        })?;
    let execution_id = original.pipeline_execution_id.clone();
    let declared = backend
        .get_pipeline(name, Some(original.pipeline_version))
        .await?
        .pipeline;
    let mut replayed = declared
        .stage(stage)
        .and_then(|s| s.action(action))
        .cloned()
        .ok_or_else(|| {
            Error::new(
                "ActionNotFoundException",
                format!(
                    "version {} of {name} has no action {key}",
                    original.pipeline_version
                ),
            )
        })?;
    if replayed.action_type_id.category == ActionCategory::Source {
        return Err(Error::new(
            "ValidationException",
            format!(
                "{key} is a source action: it has no inputs to replay; run the pipeline (pipewright --aws pull {name}) instead"
            ),
        ));
    }
    let mut gaps = Vec::new();

    // What the action ran with on AWS: its configuration as resolved there, and the references
    // the configuration does not hold filled from the same execution.
    if !original.input.resolved_configuration.is_empty() {
        replayed.configuration = Some(original.input.resolved_configuration.clone());
    }
    let siblings = backend
        .action_executions(name, Some(&execution_id), SEARCH_LIMIT)
        .await?;
    let variables = match backend.get_execution(name, &execution_id).await {
        Ok(out) => out.pipeline_execution.variables,
        Err(error) => {
            gaps.push(format!(
                "the execution's pipeline variables could not be read ({}: {})",
                error.code, error.message
            ));
            Vec::new()
        }
    };
    let mut values: HashMap<(String, String), String> = HashMap::new();
    // Newest first: after a stage retry, the latest attempt's outputs are the ones later
    // actions read.
    for sibling in &siblings {
        if let Some(namespace) = sibling.input.namespace.as_deref() {
            for (variable, value) in &sibling.output.output_variables {
                values
                    .entry((namespace.to_owned(), variable.clone()))
                    .or_insert_with(|| value.clone());
            }
        }
    }
    for variable in variables {
        values.insert(
            ("variables".to_owned(), variable.name.clone()),
            variable.resolved_value.clone(),
        );
    }
    replayed = resolve_references(&replayed, &values)?;

    // The inputs, downloaded from the artifact store.
    let inputs_dir = dir.join("inputs");
    std::fs::create_dir_all(&inputs_dir)
        .map_err(|e| Error::new("IoError", format!("{}: {e}", inputs_dir.display())))?;
    let s3 = S3Objects::new();
    let mut inputs = Vec::new();
    let mut input_settings = Vec::new();
    for artifact in &original.input.input_artifacts {
        let location: S3Location =
            serde_json::from_value(artifact.s3location.clone()).map_err(|_| {
                Error::new(
                    "ValidationException",
                    format!(
                        "input {} has no S3 location in ListActionExecutions (it gave {})",
                        artifact.name, artifact.s3location
                    ),
                )
            })?;
        let address = ObjectAddress {
            connection: connection.clone(),
            bucket: location.bucket,
            key: location.key,
        };
        let file = inputs_dir.join(format!("{}.zip", artifact.name));
        s3.get(&address, &file).await?;
        inputs.push((artifact.name.clone(), address.to_string()));
        input_settings.push((artifact.name.clone(), address, file));
    }

    let pipeline = replay_pipeline(&declared, stage, &replayed, &input_settings)?;
    // The sources' paths first, so the plan takes them as mapped.
    let settings_file = dir.join(format!("{}.pipewright.yaml", pipeline.name));
    let entries: Vec<Entry> = input_settings
        .iter()
        .map(|(artifact, _, file)| {
            let settings = ActionSettings {
                path: Some(file.clone()),
                ..ActionSettings::default()
            };
            Entry::new(
                "actions",
                &format!("{INPUTS_STAGE}/{artifact}"),
                &settings,
                dir,
            )
        })
        .collect();
    settings_file::write_entries(
        &settings_file,
        &entries,
        &format!(
            "# Pipewright's local settings for a replay of {key} of {name}, execution {execution_id} on {}.",
            backend.name()
        ),
    )
    .map_err(|e| Error::new("InvalidSettings", e.to_string()))?;
    let mut fetched = Fetched::new(pipeline, backend.name());
    pull::fetch_projects(connection, &mut fetched).await;
    gaps.extend(fetched.gaps.clone());
    let written = fetched.write(dir, PlanContext::default())?;
    Ok(Prepared {
        original,
        inputs,
        written,
        gaps,
    })
}

/// The action with every `#{Namespace.Name}` and `#{variables.Name}` that the execution on AWS
/// had a value for replaced by it; others (`#{codepipeline.PipelineExecutionId}`) stay for the
/// local run to fill.
fn resolve_references(
    action: &Action,
    values: &HashMap<(String, String), String>,
) -> Result<Action> {
    let text =
        serde_json::to_string(action).map_err(|e| Error::new("InternalError", e.to_string()))?;
    // Substituted inside the JSON text, so each value goes in JSON-escaped.
    let resolved = variables::substitute(&text, |namespace, name| {
        Some(match values.get(&(namespace.to_owned(), name.to_owned())) {
            Some(value) => {
                let quoted = serde_json::Value::String(value.clone()).to_string();
                quoted[1..quoted.len() - 1].to_owned()
            }
            None => format!("#{{{namespace}.{name}}}"),
        })
    })
    .unwrap_or_else(|_| text.clone());
    serde_json::from_str(&resolved).map_err(|e| Error::new("InternalError", e.to_string()))
}

/// The replay pipeline: an S3 source per input (mapped to its downloaded zip), then the action
/// alone in a stage named as its own. Named after the pipeline, the stage and the action.
fn replay_pipeline(
    declared: &PipelineDeclaration,
    stage: &str,
    action: &Action,
    inputs: &[(String, ObjectAddress, PathBuf)],
) -> Result<PipelineDeclaration> {
    let mut name = format!("{}.replay.{stage}.{}", declared.name, action.name);
    name.truncate(100);
    let mut action = serde_json::to_value(action).map_err(internal)?;
    action["runOrder"] = json!(1);
    let sources: Vec<Value> = inputs
        .iter()
        .map(|(artifact, address, _)| {
            json!({
                "name": artifact,
                "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                "runOrder": 1,
                "configuration": {"S3Bucket": address.bucket, "S3ObjectKey": address.key},
                "outputArtifacts": [{"name": artifact}]
            })
        })
        .collect();
    let mut stages = Vec::new();
    if !sources.is_empty() {
        stages.push(json!({"name": INPUTS_STAGE, "actions": sources}));
    }
    stages.push(json!({"name": stage, "actions": [action]}));
    let mut pipeline = serde_json::to_value(declared).map_err(internal)?;
    pipeline["name"] = json!(name);
    pipeline["stages"] = json!(stages);
    // Commands actions need V2; nothing in a replay is refused by V2. No triggers: it runs
    // when asked.
    pipeline["pipelineType"] = json!("V2");
    if let Value::Object(map) = &mut pipeline {
        map.remove("version");
        map.remove("triggers");
    }
    serde_json::from_value(pipeline).map_err(internal)
}

fn internal(error: serde_json::Error) -> Error {
    Error::new("InternalError", format!("the replay pipeline: {error}"))
}

/// `Replay locally` on an action of an AWS execution in the app: prepared in the data
/// directory's `replays/NAME/STAGE-ACTION`, stored as a local pipeline, and started. The
/// replay's local name and execution id.
pub async fn start(
    api: &Pipewright,
    backend: &AwsBackend,
    connection: &AwsConnection,
    name: &str,
    stage: &str,
    action: &str,
    execution: Option<&str>,
) -> Result<(String, String)> {
    let dir = api
        .data_dir()
        .join("replays")
        .join(name)
        .join(format!("{stage}-{action}"));
    let prepared = Box::pin(prepare(
        backend, connection, name, stage, action, execution, &dir,
    ))
    .await?;
    let (local, _) = prepared.written.import(api).await?;
    let id = api.start(&local, &Default::default(), None).await?;
    Ok((local, id))
}
