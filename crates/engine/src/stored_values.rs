//! Values a build reads from Parameter Store and Secrets Manager (a buildspec's `env`
//! `parameter-store` and `secrets-manager`, and `EnvironmentVariables` of type PARAMETER_STORE or
//! SECRETS_MANAGER), as the local settings give them:
//!
//! ```yaml
//! parameterStore:
//!   /app/db-host: db.internal
//! secretsManager:
//!   prod/db: '{"username": "app", "password": "..."}'   # by secret id (or ARN)
//!   prod/token: {env: PROD_TOKEN}                       # read from the engine's environment
//! ```
//!
//! A value written in the settings is stored with them (in the pipeline's version, in the data
//! directory), as the rest of the settings are; `{env: NAME}` keeps a real secret out of both
//! the file and the database, read from the engine's environment when the build starts.
//!
//! A secrets-manager reference is `secret-id:json-key:version-stage:version-id`, as CodeBuild
//! reads it; with a json key the value is that key of the secret's JSON. Versions are not kept
//! locally, so a reference that names one gets the one value the settings hold. A value the
//! settings do not hold is left unset and named before the build starts; every value found is
//! masked in the build's log, as CodeBuild masks them.

use std::sync::Arc;

use futures::future::BoxFuture;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::objects::AwsConnection;

/// The settings' `parameterStore:` and `secretsManager:`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredValues {
    /// Parameter Store values by parameter name.
    pub parameter_store: IndexMap<String, StoredValue>,
    /// Secrets Manager secret strings by secret id or ARN.
    pub secrets_manager: IndexMap<String, StoredValue>,
}

/// One value: as written, or `{env: NAME}` from the engine's environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredValue {
    Written(String),
    FromEnvironment { env: String },
}

impl StoredValue {
    fn get(&self) -> Result<String, String> {
        match self {
            StoredValue::Written(value) => Ok(value.clone()),
            StoredValue::FromEnvironment { env } => std::env::var(env)
                .map_err(|_| format!("the environment variable {env} it reads is not set")),
        }
    }
}

/// Where a value comes from on AWS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    ParameterStore,
    SecretsManager,
}

impl Store {
    pub fn as_str(self) -> &'static str {
        match self {
            Store::ParameterStore => "Parameter Store",
            Store::SecretsManager => "Secrets Manager",
        }
    }
}

impl StoredValues {
    /// The value `reference` names, or why there is none here.
    pub fn value(&self, store: Store, reference: &str) -> Result<String, String> {
        match store {
            Store::ParameterStore => self
                .parameter_store
                .get(reference)
                .ok_or_else(|| format!("the local settings' parameterStore has no {reference}"))?
                .get(),
            Store::SecretsManager => self.secret(reference),
        }
    }

    /// Whether the settings give a value for `reference`, without reading it (a value read
    /// from the environment is read only when a build starts).
    pub fn gives(&self, store: Store, reference: &str) -> bool {
        match store {
            Store::ParameterStore => self.parameter_store.contains_key(reference),
            Store::SecretsManager => {
                self.secrets_manager.contains_key(reference)
                    || self
                        .secrets_manager
                        .contains_key(split_secret_reference(reference).id)
            }
        }
    }

    fn secret(&self, reference: &str) -> Result<String, String> {
        if let Some(value) = self.secrets_manager.get(reference) {
            return value.get();
        }
        let SecretReference { id, json_key, .. } = split_secret_reference(reference);
        let secret = self
            .secrets_manager
            .get(id)
            .ok_or_else(|| format!("the local settings' secretsManager has no {id}"))?
            .get()?;
        json_key_of(id, secret, json_key)
    }
}

/// A secret's string, or the value of one key of it when it is JSON.
fn json_key_of(id: &str, secret: String, key: Option<&str>) -> Result<String, String> {
    let Some(key) = key else {
        return Ok(secret);
    };
    let json: serde_json::Value = serde_json::from_str(&secret).map_err(|_| {
        format!("the secretsManager value of {id} is not JSON, so it has no key {key}")
    })?;
    match json.get(key) {
        Some(serde_json::Value::String(value)) => Ok(value.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(format!("the secretsManager value of {id} has no key {key}")),
    }
}

/// The engine's port to AWS's Parameter Store and Secrets Manager, for the values a build reads
/// that the settings do not give, when the settings ask for AWS's (`storedValuesFromAws: true`).
/// The engine links no SDK: the CLI and the app plug in `pipewright_aws`'s.
pub trait RemoteValues: Send + Sync + std::fmt::Debug {
    /// A parameter's value (decrypted, as CodeBuild reads SecureStrings).
    fn parameter<'a>(
        &'a self,
        connection: &'a AwsConnection,
        name: &'a str,
    ) -> BoxFuture<'a, Result<String, String>>;

    /// A secret's string, of the version stage or id when one is given.
    fn secret<'a>(
        &'a self,
        connection: &'a AwsConnection,
        id: &'a str,
        version_stage: Option<&'a str>,
        version_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, String>>;
}

/// Where a build's stored values come from: the settings, then AWS when the settings ask.
#[derive(Clone, Debug)]
pub struct ValueSources {
    pub local: StoredValues,
    /// AWS's Parameter Store and Secrets Manager, through this connection.
    pub remote: Option<(Arc<dyn RemoteValues>, AwsConnection)>,
}

impl ValueSources {
    /// The value `reference` names and where it came from (the settings' own, else AWS's when
    /// the settings ask); or why there is none.
    pub async fn value(&self, store: Store, reference: &str) -> Result<(String, Origin), String> {
        let why = match self.local.value(store, reference) {
            Ok(value) => return Ok((value, Origin::Settings)),
            Err(why) => why,
        };
        let Some((remote, connection)) = &self.remote else {
            return Err(why);
        };
        let fetched = match store {
            Store::ParameterStore => remote.parameter(connection, reference).await,
            Store::SecretsManager => {
                let SecretReference {
                    id,
                    json_key,
                    version_stage,
                    version_id,
                } = split_secret_reference(reference);
                match remote
                    .secret(connection, id, version_stage, version_id)
                    .await
                {
                    Ok(secret) => json_key_of(id, secret, json_key),
                    Err(e) => Err(e),
                }
            }
        };
        fetched
            .map(|value| (value, Origin::Aws))
            .map_err(|aws| format!("{why}, and AWS's {} says: {aws}", store.as_str()))
    }
}

/// Where a stored value came from, as the build's log says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Settings,
    Aws,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Origin::Settings => "the value in the local settings",
            Origin::Aws => "read from AWS",
        }
    }
}

/// A Secrets Manager reference, `secret-id[:json-key[:version-stage[:version-id]]]`, where the
/// secret id may be an ARN (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`, itself made of
/// seven parts). An empty part is absent: `prod/db::AWSPREVIOUS` is the whole secret at a stage.
#[derive(Debug, PartialEq, Eq)]
struct SecretReference<'a> {
    id: &'a str,
    json_key: Option<&'a str>,
    version_stage: Option<&'a str>,
    version_id: Option<&'a str>,
}

fn split_secret_reference(reference: &str) -> SecretReference<'_> {
    let id_parts = if reference.starts_with("arn:") { 7 } else { 1 };
    let cut = reference
        .match_indices(':')
        .nth(id_parts - 1)
        .map_or(reference.len(), |(index, _)| index);
    let mut rest = reference
        .get(cut + 1..)
        .unwrap_or_default()
        .split(':')
        .map(|part| Some(part).filter(|part| !part.is_empty()));
    SecretReference {
        id: &reference[..cut],
        json_key: rest.next().flatten(),
        version_stage: rest.next().flatten(),
        version_id: rest.next().flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_reference_keeps_its_empty_parts_in_place() {
        let parts = |reference| {
            let r = split_secret_reference(reference);
            (r.id, r.json_key, r.version_stage, r.version_id)
        };
        assert_eq!(
            parts("prod/db::AWSPREVIOUS"),
            ("prod/db", None, Some("AWSPREVIOUS"), None)
        );
        assert_eq!(
            parts("prod/db:::0b1c2d"),
            ("prod/db", None, None, Some("0b1c2d"))
        );
        assert_eq!(
            parts("prod/db:password:AWSCURRENT"),
            ("prod/db", Some("password"), Some("AWSCURRENT"), None)
        );
        assert_eq!(
            parts("arn:aws:secretsmanager:eu-west-1:123456789012:secret:token-AbCdEf::AWSPENDING"),
            (
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:token-AbCdEf",
                None,
                Some("AWSPENDING"),
                None
            )
        );
        assert_eq!(parts("prod/db"), ("prod/db", None, None, None));
    }

    fn values() -> StoredValues {
        let settings = crate::settings::LocalSettings::parse(
            "parameterStore: {/app/host: db.internal}\n\
             secretsManager:\n  prod/db: '{\"password\": \"hunter2\", \"port\": 5432}'\n  \
             'arn:aws:secretsmanager:eu-west-1:123456789012:secret:token-AbCdEf': plain\n  \
             from/env: {env: PIPEWRIGHT_TEST_UNSET_VARIABLE}\n",
            "test.pipewright.yaml",
            std::path::Path::new("/"),
        )
        .expect("settings");
        settings.stored_values()
    }

    #[test]
    fn parameters_are_found_by_name() {
        let values = values();
        assert_eq!(
            values.value(Store::ParameterStore, "/app/host"),
            Ok("db.internal".to_owned())
        );
        let missing = values
            .value(Store::ParameterStore, "/app/other")
            .expect_err("not in the settings");
        assert!(missing.contains("/app/other"), "{missing}");
    }

    #[test]
    fn secrets_are_found_by_id_arn_and_json_key() {
        let values = values();
        assert_eq!(
            values.value(Store::SecretsManager, "prod/db:password"),
            Ok("hunter2".to_owned())
        );
        assert_eq!(
            values.value(Store::SecretsManager, "prod/db:port::"),
            Ok("5432".to_owned())
        );
        assert!(
            values
                .value(Store::SecretsManager, "prod/db")
                .expect("the whole secret")
                .contains("hunter2")
        );
        assert_eq!(
            values.value(
                Store::SecretsManager,
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:token-AbCdEf::AWSCURRENT"
            ),
            Ok("plain".to_owned())
        );
        let no_key = values
            .value(Store::SecretsManager, "prod/db:user")
            .expect_err("no such key");
        assert!(no_key.contains("no key user"), "{no_key}");
        let unset = values
            .value(Store::SecretsManager, "from/env")
            .expect_err("the variable is not set");
        assert!(
            unset.contains("PIPEWRIGHT_TEST_UNSET_VARIABLE it reads is not set"),
            "{unset}"
        );
    }
}
