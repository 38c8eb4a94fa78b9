//! S3 source and deploy actions against real buckets (local settings `s3: true`), through the
//! engine's [`ObjectStore`] port:
//! - the source downloads the zip object `S3Bucket`/`S3ObjectKey` and stores what it holds, with
//!   the object's version (or ETag) as the revision, as CodePipeline does;
//! - the deploy uploads its input artifact to `BucketName`: extracted, each file under the
//!   `ObjectKey` prefix, or as the zip `ObjectKey` (`Extract: false`), with `CannedACL`,
//!   `CacheControl` and `KMSEncryptionKeyARN` applied.

use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;

use super::{ActionRun, Outcome, Revision, Services, blocking, script_failure};
use crate::objects::{ObjectAddress, ObjectStore, PutOptions};
use crate::process::ProcessEnd;

/// Files uploaded at once by an extracting deploy.
const PARALLEL_UPLOADS: usize = 8;

fn object_store(services: &Services) -> Result<Arc<dyn ObjectStore>, Box<Outcome>> {
    services.objects.clone().ok_or_else(|| {
        Box::new(Outcome::failed(
            "NoS3Connection",
            "this action uses a real S3 bucket (s3: true), but this program runs without AWS; run it with the pipewright CLI or app",
        ))
    })
}

fn required<'a>(run: &'a ActionRun, key: &str) -> Result<&'a str, Box<Outcome>> {
    run.action
        .config(key)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            Box::new(Outcome::failed(
                "InvalidConfiguration",
                format!(
                    "{}/{} reads or writes a real bucket, so its configuration needs {key}",
                    run.stage, run.action.name
                ),
            ))
        })
}

fn address(run: &ActionRun, bucket: &str, key: &str) -> ObjectAddress {
    ObjectAddress {
        connection: run.aws.clone(),
        bucket: bucket.to_owned(),
        key: key.to_owned(),
    }
}

pub async fn source(services: &Services, run: &ActionRun) -> Outcome {
    bounded(services, run, try_source(services, run)).await
}

/// Runs the transfer until it ends, the action is stopped (abandon), or its timeout passes; a
/// transfer cut short leaves the bucket as far as it got.
async fn bounded(
    services: &Services,
    run: &ActionRun,
    work: impl Future<Output = Result<Box<Outcome>, Box<Outcome>>>,
) -> Outcome {
    let deadline = async {
        match run.timeout {
            Some(timeout) => {
                let deadline = services.clock.now_ms() + timeout.as_millis() as i64;
                crate::clock::sleep_until(services.clock.as_ref(), deadline).await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        ended = work => match ended {
            Ok(outcome) | Err(outcome) => *outcome,
        },
        () = run.cancel.cancelled() => script_failure(ProcessEnd::Cancelled, run.timeout),
        () = deadline => script_failure(ProcessEnd::TimedOut, run.timeout),
    }
}

async fn try_source(services: &Services, run: &ActionRun) -> Result<Box<Outcome>, Box<Outcome>> {
    let objects = object_store(services)?;
    let object = address(
        run,
        required(run, "S3Bucket")?,
        required(run, "S3ObjectKey")?,
    );
    let artifact = super::source::output_name(run)?;
    run.log.note(format!("Downloading {object}"));
    let zip = run.workspace.join("source.zip");
    let stored = objects
        .download(object.clone(), zip.clone())
        .await
        .map_err(|message| Box::new(Outcome::failed("DownloadFailed", message)))?;
    let artifacts = services.artifacts.clone();
    let from = zip.clone();
    let ingested = blocking(move || artifacts.import_zip(&from))
        .await
        .and_then(|result| result.map_err(|e| e.to_string()))
        .map_err(|error| {
            Box::new(Outcome::failed(
                "ArtifactError",
                format!("{object} is not a zip archive CodePipeline can use: {error}"),
            ))
        })?;
    let _ = std::fs::remove_file(&zip);
    let revision = stored
        .version_id
        .clone()
        .or_else(|| stored.etag.clone())
        .unwrap_or_else(|| ingested.digest.to_string());
    let mut outcome = Outcome::succeeded(Some(object.to_string()));
    if let Some(etag) = &stored.etag {
        outcome.variables.insert("ETag".to_owned(), etag.clone());
    }
    if let Some(version) = &stored.version_id {
        outcome
            .variables
            .insert("VersionId".to_owned(), version.clone());
    }
    outcome.revision = Some(Revision {
        artifact: artifact.clone(),
        revision_id: revision,
        summary: Some(object.to_string()),
        url: None,
        author: None,
    });
    run.log.note(format!(
        "Stored {artifact}: {} files, {} bytes",
        ingested.files, ingested.bytes
    ));
    outcome.outputs.push((artifact, ingested));
    Ok(Box::new(outcome))
}

pub async fn deploy(services: &Services, run: &ActionRun) -> Outcome {
    bounded(services, run, try_deploy(services, run)).await
}

async fn try_deploy(services: &Services, run: &ActionRun) -> Result<Box<Outcome>, Box<Outcome>> {
    let objects = object_store(services)?;
    let bucket = required(run, "BucketName")?.to_owned();
    let (name, digest, extract) = super::s3_deploy::what_to_deploy(run)?;
    let options = PutOptions {
        canned_acl: run.action.config("CannedACL").map(str::to_owned),
        cache_control: run.action.config("CacheControl").map(str::to_owned),
        kms_key_id: run.action.config("KMSEncryptionKeyARN").map(str::to_owned),
    };
    let failed = |message: String| Box::new(Outcome::failed("DeployFailed", message));
    let summary = if extract {
        let prefix = run
            .action
            .config("ObjectKey")
            .unwrap_or_default()
            .trim_matches('/')
            .to_owned();
        let tree = services
            .artifacts
            .tree(digest)
            .map_err(|e| failed(e.to_string()))?;
        let (files, links) = blocking(move || files_under(&tree))
            .await
            .and_then(|files| files)
            .map_err(failed)?;
        if links > 0 {
            run.log.note(format!(
                "{links} symbolic links in {name} were not uploaded: S3 has no links"
            ));
        }
        let count = files.len();
        let uploads = files.into_iter().map(|(relative, path)| {
            let key = if prefix.is_empty() {
                relative
            } else {
                format!("{prefix}/{relative}")
            };
            let object = address(run, &bucket, &key);
            let upload = objects.upload(object.clone(), path, options.clone());
            async move { upload.await.map(|_| object) }
        });
        let mut uploads = futures::stream::iter(uploads).buffer_unordered(PARALLEL_UPLOADS);
        while let Some(uploaded) = uploads.next().await {
            let object = uploaded.map_err(failed)?;
            run.log.note(format!("Uploaded {object}"));
        }
        let target = if prefix.is_empty() {
            format!("s3://{bucket}/")
        } else {
            format!("s3://{bucket}/{prefix}/")
        };
        format!("Extracted {name}: {count} files to {target}")
    } else {
        let key = required(run, "ObjectKey")?.to_owned();
        let zip = run.workspace.join("deploy.zip");
        let artifacts = services.artifacts.clone();
        let (digest, to) = (digest.clone(), zip.clone());
        blocking(move || {
            let file = std::fs::File::create(&to)
                .map_err(|e| format!("cannot write {}: {e}", to.display()))?;
            artifacts
                .export_zip(&digest, file)
                .map_err(|e| e.to_string())
        })
        .await
        .and_then(|result| result)
        .map_err(failed)?;
        let object = address(run, &bucket, &key);
        objects
            .upload(object.clone(), zip.clone(), options)
            .await
            .map_err(failed)?;
        let _ = std::fs::remove_file(&zip);
        format!("Wrote {name} as {object}")
    };
    run.log.note(summary.clone());
    Ok(Box::new(Outcome::succeeded(Some(summary))))
}

/// The regular files of a stored tree, as (key relative to the tree with `/`, path on disk), and
/// how many symbolic links it holds.
type Files = (Vec<(String, std::path::PathBuf)>, usize);

fn files_under(tree: &Path) -> Result<Files, String> {
    let mut files = Vec::new();
    let mut links = 0;
    for entry in walkdir::WalkDir::new(tree).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.file_type().is_symlink() {
            links += 1;
        }
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry
            .path()
            .strip_prefix(tree)
            .map_err(|e| e.to_string())?
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        files.push((relative, entry.into_path()));
    }
    Ok((files, links))
}
