//! `pipewright artifacts` with S3: a local execution's artifacts uploaded to an S3 artifact store
//! in CodePipeline's layout (`--to-s3`), and an AWS execution's artifacts listed and downloaded
//! from its artifact store (`--aws`).

use std::path::Path;

use anyhow::{Context, Result, bail};
use pipewright_api::engine::objects::{AwsConnection, ObjectAddress, PutOptions};
use pipewright_api::{Backend, Pipewright};
use pipewright_aws::s3::{S3Objects, artifact_store_key};
use serde::Serialize;

use crate::output::print_json;

/// An artifact and where it is in S3, as ListActionExecutions reports it.
#[derive(Debug, Serialize)]
pub struct StoredArtifact {
    pub name: String,
    pub s3location: S3Location,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
}

/// Uploads the artifacts of a local execution (or only the one named) to the artifact store
/// `bucket`, by default the pipeline's own (`artifactStore.location`, encrypted with its key).
pub async fn upload(
    api: &Pipewright,
    connection: &AwsConnection,
    name: &str,
    execution_id: &str,
    only: Option<&str>,
    bucket: Option<&str>,
    json: bool,
) -> Result<()> {
    // The artifact store of the version the execution ran.
    let version = api
        .get_execution(name, execution_id)
        .await?
        .pipeline_execution
        .pipeline_version;
    let declaration = api
        .get_pipeline(name, Some(version))
        .await
        .map(|out| out.pipeline)?;
    let store = match (
        &declaration.artifact_store,
        declaration.artifact_stores.as_ref(),
    ) {
        (Some(store), _) => Some(store.clone()),
        (None, Some(stores)) => connection
            .region
            .as_ref()
            .and_then(|region| stores.get(region))
            .or_else(|| {
                (stores.len() == 1)
                    .then(|| stores.values().next())
                    .flatten()
            })
            .cloned(),
        (None, None) => None,
    };
    let bucket_given = bucket;
    let bucket = match (bucket, &store) {
        (Some(bucket), _) => bucket.to_owned(),
        (None, Some(store)) => store.location.clone(),
        (None, None) if declaration.artifact_stores.is_some() => bail!(
            "{name} has an artifact store per region and none is chosen: give --region, or the bucket as --to-s3 BUCKET"
        ),
        (None, None) => {
            bail!("{name} declares no artifactStore: give the bucket, as --to-s3 BUCKET")
        }
    };
    // The pipeline's key encrypts its own store; another bucket has keys of its own.
    let options = PutOptions {
        kms_key_id: store
            .filter(|_| bucket_given.is_none())
            .and_then(|store| store.encryption_key)
            .map(|key| key.id),
        ..PutOptions::default()
    };
    let artifacts: Vec<_> = api
        .artifacts(name, execution_id)
        .await?
        .into_iter()
        .filter(|a| only.is_none_or(|only| a.name == only))
        .collect();
    if artifacts.is_empty() {
        match only {
            Some(only) => bail!("execution {execution_id} has no artifact {only}"),
            None => bail!("execution {execution_id} has no artifacts"),
        }
    }
    let objects = S3Objects::new();
    let scratch = tempfile::tempdir().context("cannot make a scratch directory")?;
    let mut uploaded = Vec::new();
    for artifact in artifacts {
        let zip = scratch.path().join("artifact.zip");
        api.export_artifact(name, execution_id, &artifact.name, &zip)
            .await?;
        let object = ObjectAddress {
            connection: connection.clone(),
            bucket: bucket.clone(),
            key: artifact_store_key(name, &artifact.name),
        };
        objects.put(&object, &zip, &options).await?;
        if !json {
            println!(
                "{:<24} {:>6} files {:>12} bytes  {object}",
                artifact.name, artifact.files, artifact.bytes
            );
        }
        uploaded.push(StoredArtifact {
            name: artifact.name,
            s3location: S3Location {
                bucket: object.bucket,
                key: object.key,
            },
        });
    }
    if json {
        print_json(&uploaded)?;
    }
    Ok(())
}

/// The artifacts an AWS execution's actions produced, with where they are in its artifact store.
pub async fn on_aws(
    backend: &dyn Backend,
    name: &str,
    execution_id: &str,
) -> Result<Vec<StoredArtifact>> {
    let actions = backend
        .list_action_executions(name, Some(execution_id))
        .await?;
    let mut artifacts: Vec<StoredArtifact> = Vec::new();
    for detail in actions.action_execution_details {
        for artifact in detail.output.output_artifacts {
            let Ok(s3location) = serde_json::from_value::<S3Location>(artifact.s3location) else {
                continue;
            };
            // A retried action reports its artifact again; the newest (listed first) counts.
            if !artifacts.iter().any(|a| a.name == artifact.name) {
                artifacts.push(StoredArtifact {
                    name: artifact.name,
                    s3location,
                });
            }
        }
    }
    Ok(artifacts)
}

/// Lists an AWS execution's artifacts, or downloads one as the zip its artifact store holds.
pub async fn aws_command(
    backend: &dyn Backend,
    connection: &AwsConnection,
    name: &str,
    execution_id: &str,
    export: Option<(&str, &Path)>,
    json: bool,
) -> Result<()> {
    let artifacts = on_aws(backend, name, execution_id).await?;
    let Some((wanted, output)) = export else {
        if json {
            print_json(&artifacts)?;
        } else {
            for a in &artifacts {
                println!(
                    "{:<24} s3://{}/{}",
                    a.name, a.s3location.bucket, a.s3location.key
                );
            }
        }
        return Ok(());
    };
    let artifact = artifacts
        .iter()
        .find(|a| a.name == wanted)
        .with_context(|| format!("execution {execution_id} has no artifact {wanted}"))?;
    let object = ObjectAddress {
        connection: connection.clone(),
        bucket: artifact.s3location.bucket.clone(),
        key: artifact.s3location.key.clone(),
    };
    S3Objects::new().get(&object, output).await?;
    println!("Wrote {wanted} from {object} to {}", output.display());
    Ok(())
}
