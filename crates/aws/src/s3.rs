//! Real S3: the engine's [`ObjectStore`] port (S3 source and deploy actions with `s3: true`), and
//! the artifact store layout CodePipeline uses, for exporting a local execution's artifacts there
//! and reading an AWS execution's artifacts back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ObjectCannedAcl, ServerSideEncryption};
use futures::future::BoxFuture;
use pipewright_api::engine::objects::{
    AwsConnection, ObjectAddress, ObjectStore, PutOptions, StoredObject,
};
use pipewright_api::{Error, Result};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use crate::raw::sdk_error;

/// S3 clients, one per connection, made when first needed and kept: making one reads the AWS
/// configuration files, and a deploy uploads many files.
#[derive(Clone, Debug, Default)]
pub struct S3Objects {
    clients: Arc<Mutex<HashMap<AwsConnection, Client>>>,
}

impl S3Objects {
    pub fn new() -> S3Objects {
        S3Objects::default()
    }

    async fn client(&self, connection: &AwsConnection) -> Result<Client> {
        if let Some(client) = self.clients.lock().await.get(connection) {
            return Ok(client.clone());
        }
        // Not under the lock: loading a configuration may wait for a login (SSO), and other
        // connections should not wait for it.
        let config = crate::load_config(connection).await?;
        let mut builder = aws_sdk_s3::config::Builder::from(&config);
        // An endpoint of our own (an emulator on loopback) serves buckets by path, not by a
        // `bucket.host` name that would not resolve.
        if connection.endpoint_url.is_some() {
            builder = builder.force_path_style(true);
        }
        let client = Client::from_conf(builder.build());
        self.clients
            .lock()
            .await
            .insert(connection.clone(), client.clone());
        Ok(client)
    }

    /// Downloads an object to a file; a download that fails midway leaves no file.
    pub async fn get(&self, object: &ObjectAddress, to: &Path) -> Result<StoredObject> {
        let client = self.client(&object.connection).await?;
        let answer = client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .send()
            .await
            .map_err(|e| about(object, sdk_error(e)))?;
        let stored = StoredObject {
            version_id: answer.version_id().map(str::to_owned),
            etag: answer.e_tag().map(|etag| etag.trim_matches('"').to_owned()),
        };
        let io = |e: std::io::Error| Error::new("IoError", format!("{}: {e}", to.display()));
        let mut file = tokio::fs::File::create(to).await.map_err(io)?;
        let mut body = answer.body.into_async_read();
        let copied = match tokio::io::copy(&mut body, &mut file).await {
            Ok(_) => file.flush().await.map_err(io),
            Err(e) => Err(about(object, Error::new("ConnectionError", e.to_string()))),
        };
        if copied.is_err() {
            let _ = tokio::fs::remove_file(to).await;
        }
        copied.map(|()| stored)
    }

    /// Uploads a file as an object, its content type from the key's extension.
    pub async fn put(
        &self,
        object: &ObjectAddress,
        from: &Path,
        options: &PutOptions,
    ) -> Result<StoredObject> {
        let client = self.client(&object.connection).await?;
        let body = ByteStream::from_path(from)
            .await
            .map_err(|e| Error::new("IoError", format!("{}: {e}", from.display())))?;
        let content_type = mime_guess::from_path(&object.key)
            .first_or_octet_stream()
            .to_string();
        let mut request = client
            .put_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .content_type(content_type)
            .body(body)
            .set_cache_control(options.cache_control.clone())
            .set_acl(options.canned_acl.as_deref().map(ObjectCannedAcl::from));
        if let Some(key) = &options.kms_key_id {
            request = request
                .server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_key_id(key);
        }
        let answer = request
            .send()
            .await
            .map_err(|e| about(object, sdk_error(e)))?;
        Ok(StoredObject {
            version_id: answer.version_id().map(str::to_owned),
            etag: answer.e_tag().map(|etag| etag.trim_matches('"').to_owned()),
        })
    }
}

/// The error with the object it concerns in front.
fn about(object: &ObjectAddress, error: Error) -> Error {
    Error::new(error.code, format!("{object}: {}", error.message))
}

impl ObjectStore for S3Objects {
    fn download(
        &self,
        object: ObjectAddress,
        to: PathBuf,
    ) -> BoxFuture<'static, std::result::Result<StoredObject, String>> {
        let this = self.clone();
        Box::pin(async move { this.get(&object, &to).await.map_err(|e| e.message) })
    }

    fn upload(
        &self,
        object: ObjectAddress,
        from: PathBuf,
        options: PutOptions,
    ) -> BoxFuture<'static, std::result::Result<StoredObject, String>> {
        let this = self.clone();
        Box::pin(async move {
            this.put(&object, &from, &options)
                .await
                .map_err(|e| e.message)
        })
    }
}

/// Where CodePipeline keeps an artifact in its artifact store: a folder per pipeline (its name cut
/// to 20 characters), one per artifact (cut to 10), and a random 7-character object name, as in
/// `my-pipeline/SourceArti/Xb3kP0q`.
pub fn artifact_store_key(pipeline: &str, artifact: &str) -> String {
    let cut = |name: &str, at: usize| name.chars().take(at).collect::<String>();
    format!(
        "{}/{}/{}",
        cut(pipeline, 20),
        cut(artifact, 10),
        random_name()
    )
}

/// Seven letters and digits, from a v4 UUID's random bits.
fn random_name() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bits = uuid::Uuid::new_v4().as_u128();
    (0..7)
        .map(|_| {
            let letter = ALPHABET[(bits % ALPHABET.len() as u128) as usize];
            bits /= ALPHABET.len() as u128;
            char::from(letter)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_keys_follow_codepipeline_layout() {
        let key = artifact_store_key("a-pipeline-with-a-long-name", "SourceArtifact");
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts[..2], ["a-pipeline-with-a-lo", "SourceArti"][..]);
        assert_eq!(parts[2].len(), 7);
        assert!(parts[2].chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(
            key,
            artifact_store_key("a-pipeline-with-a-long-name", "SourceArtifact")
        );
    }
}
