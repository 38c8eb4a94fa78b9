//! CodeBuild projects as a CodeBuild action of CodePipeline runs them. The pipeline names only
//! the project; its buildspec, image, privileged mode and environment variables live in the
//! project (BatchGetProjects), and a pulled pipeline's builds need them to run here as there.

use aws_sdk_codebuild::Client;
use aws_sdk_codebuild::types::EnvironmentVariableType;
use indexmap::IndexMap;
use pipewright_api::Result;
use pipewright_api::engine::settings::{ProjectVariable, StoredReference};

use crate::AwsConnection;
use crate::raw::sdk_error;

/// What a project says of the builds it runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Project {
    pub name: String,
    /// `source.buildspec` as the project holds it: empty, inline YAML, a path in the source, or
    /// an S3 object's ARN.
    pub buildspec: Option<String>,
    pub image: Option<String>,
    pub privileged: bool,
    pub environment_variables: IndexMap<String, ProjectVariable>,
}

/// BatchGetProjects takes at most this many names a call.
const BATCH: usize = 100;

#[derive(Clone, Debug)]
pub struct CodeBuildProjects {
    client: Client,
}

impl CodeBuildProjects {
    pub async fn connect(options: &AwsConnection) -> Result<CodeBuildProjects> {
        let config = crate::load_config(options).await?;
        Ok(CodeBuildProjects {
            client: Client::new(&config),
        })
    }

    /// The projects of these names (or ARNs), by the name asked for; one that does not exist is
    /// not in the answer.
    pub async fn get(&self, names: &[String]) -> Result<IndexMap<String, Project>> {
        let mut found = IndexMap::new();
        for batch in names.chunks(BATCH) {
            let answer = self
                .client
                .batch_get_projects()
                .set_names(Some(batch.to_vec()))
                .send()
                .await
                .map_err(sdk_error)?;
            for project in answer.projects() {
                let name = project.name().unwrap_or_default().to_owned();
                let arn = project.arn().unwrap_or_default();
                let Some(asked) = batch.iter().find(|asked| **asked == name || *asked == arn)
                else {
                    continue;
                };
                let environment = project.environment();
                let variables = environment
                    .map(|e| e.environment_variables())
                    .unwrap_or_default()
                    .iter()
                    .map(|variable| {
                        let value = variable.value().to_owned();
                        let value = match variable.r#type() {
                            Some(EnvironmentVariableType::ParameterStore) => {
                                ProjectVariable::Stored(StoredReference::ParameterStore(value))
                            }
                            Some(EnvironmentVariableType::SecretsManager) => {
                                ProjectVariable::Stored(StoredReference::SecretsManager(value))
                            }
                            _ => ProjectVariable::Plain(value),
                        };
                        (variable.name().to_owned(), value)
                    })
                    .collect();
                found.insert(
                    asked.clone(),
                    Project {
                        name,
                        buildspec: project
                            .source()
                            .and_then(|s| s.buildspec())
                            .map(str::to_owned),
                        image: environment
                            .map(|e| e.image().to_owned())
                            .filter(|i| !i.is_empty()),
                        privileged: environment
                            .and_then(|e| e.privileged_mode())
                            .unwrap_or(false),
                        environment_variables: variables,
                    },
                );
            }
        }
        Ok(found)
    }
}
