//! AWS's Parameter Store and Secrets Manager behind the engine's [`RemoteValues`] port: the
//! values builds read that the local settings do not give, when the settings ask for AWS's
//! (`storedValuesFromAws: true`), through the settings' `aws:` connection. SecureString
//! parameters are decrypted, as CodeBuild reads them.

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use pipewright_api::engine::objects::AwsConnection;
use pipewright_api::engine::stored_values::RemoteValues;
use tokio::sync::Mutex;

use crate::raw::sdk_error;

/// The clients of each connection, made when first needed and kept.
#[derive(Clone, Debug, Default)]
pub struct AwsStoredValues {
    clients: Arc<Mutex<HashMap<AwsConnection, Clients>>>,
}

#[derive(Clone, Debug)]
struct Clients {
    ssm: aws_sdk_ssm::Client,
    secrets: aws_sdk_secretsmanager::Client,
}

impl AwsStoredValues {
    pub fn new() -> AwsStoredValues {
        AwsStoredValues::default()
    }

    async fn clients(&self, connection: &AwsConnection) -> Result<Clients, String> {
        if let Some(clients) = self.clients.lock().await.get(connection) {
            return Ok(clients.clone());
        }
        let config = crate::load_config(connection)
            .await
            .map_err(|e| e.message)?;
        let clients = Clients {
            ssm: aws_sdk_ssm::Client::new(&config),
            secrets: aws_sdk_secretsmanager::Client::new(&config),
        };
        self.clients
            .lock()
            .await
            .insert(connection.clone(), clients.clone());
        Ok(clients)
    }
}

impl RemoteValues for AwsStoredValues {
    fn parameter<'a>(
        &'a self,
        connection: &'a AwsConnection,
        name: &'a str,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let clients = self.clients(connection).await?;
            let answer = clients
                .ssm
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| sdk_error(e).message)?;
            answer
                .parameter()
                .and_then(|p| p.value())
                .map(str::to_owned)
                .ok_or_else(|| format!("the parameter {name} has no value"))
        })
    }

    fn secret<'a>(
        &'a self,
        connection: &'a AwsConnection,
        id: &'a str,
        version_stage: Option<&'a str>,
        version_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let clients = self.clients(connection).await?;
            let answer = clients
                .secrets
                .get_secret_value()
                .secret_id(id)
                .set_version_stage(version_stage.map(str::to_owned))
                .set_version_id(version_id.map(str::to_owned))
                .send()
                .await
                .map_err(|e| sdk_error(e).message)?;
            answer.secret_string().map(str::to_owned).ok_or_else(|| {
                format!("the secret {id} holds binary data, which a build variable cannot")
            })
        })
    }
}
