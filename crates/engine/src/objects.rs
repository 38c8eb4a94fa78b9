//! The engine's port to real S3: S3 source and deploy actions whose local settings say `s3: true`
//! read and write objects through an [`ObjectStore`]. The engine links no AWS SDK; a front end
//! that does (the CLI and the desktop app, through `pipewright-aws`) plugs one in with
//! [`crate::EngineOptions::objects`]. Without one, such an action fails and says so.

use std::path::PathBuf;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

/// How to reach AWS, as the AWS CLI's options say it: the `aws:` block of the local settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AwsConnection {
    /// A profile of `~/.aws/config`; the default chain (environment, default profile, SSO, ...)
    /// when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Another endpoint than AWS's (an S3-compatible server, an emulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
}

/// One object in one bucket, reached through one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectAddress {
    pub connection: AwsConnection,
    pub bucket: String,
    pub key: String,
}

impl std::fmt::Display for ObjectAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// What S3 says about an object it stored or served.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredObject {
    /// Set when the bucket is versioned (CodePipeline's S3 source requires that; locally it is
    /// optional and the ETag stands in as the revision).
    pub version_id: Option<String>,
    pub etag: Option<String>,
}

/// How an object is written, from the S3 deploy action's configuration. The content type comes
/// from the key's extension.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// `CannedACL`: private, public-read, bucket-owner-full-control, ...
    pub canned_acl: Option<String>,
    /// `CacheControl`: the Cache-Control header the object is served with.
    pub cache_control: Option<String>,
    /// `KMSEncryptionKeyARN`: encrypt with this KMS key (aws:kms).
    pub kms_key_id: Option<String>,
}

/// Reads and writes S3 objects. Errors are messages that name the object.
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// Writes the object's bytes to `to`.
    fn download(
        &self,
        object: ObjectAddress,
        to: PathBuf,
    ) -> BoxFuture<'static, Result<StoredObject, String>>;

    /// Uploads the file `from` as the object.
    fn upload(
        &self,
        object: ObjectAddress,
        from: PathBuf,
        options: PutOptions,
    ) -> BoxFuture<'static, Result<StoredObject, String>>;
}
