//! What an execution's builds made besides their outputs, each with the action it came from: test
//! and coverage reports (`pipewright reports`, the monitor) and the builds of batch builds
//! (`pipewright logs`, the live view).

use pipewright_model::reports::Report;
use pipewright_store as db;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::{Error, Pipewright, Result, execution_of};

/// A report and the action execution that made it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ActionReport {
    pub stage_name: String,
    pub action_name: String,
    pub action_execution_id: String,
    pub report: Report,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ListReportsOutput {
    pub pipeline_execution_id: String,
    pub reports: Vec<ActionReport>,
}

impl Pipewright {
    /// The reports of an execution (the newest when None), in the order its actions started.
    pub async fn reports(
        &self,
        name: &str,
        execution_id: Option<&str>,
    ) -> Result<ListReportsOutput> {
        let id = match execution_id {
            Some(id) => id.to_owned(),
            None => self.latest_execution_id(name).await?.ok_or_else(|| {
                Error::new(
                    "PipelineExecutionNotFoundException",
                    format!("{name} has no execution yet"),
                )
            })?,
        };
        let mut conn = self.conn().await?;
        execution_of(&mut conn, name, &id).await?;
        let actions = db::action_executions(&mut conn, &id).await?;
        let mut reports = Vec::new();
        for (action_execution_id, text) in db::reports_of_execution(&mut conn, &id).await? {
            let report: Report = serde_json::from_str(&text)
                .map_err(|e| Error::new("StoreError", format!("a stored report: {e}")))?;
            let action = actions.iter().find(|a| a.id == action_execution_id);
            reports.push(ActionReport {
                stage_name: action.map(|a| a.stage.clone()).unwrap_or_default(),
                action_name: action.map(|a| a.action.clone()).unwrap_or_default(),
                action_execution_id,
                report,
            });
        }
        Ok(ListReportsOutput {
            pipeline_execution_id: id,
            reports,
        })
    }

    /// The batch builds of an execution's actions, with the `Stage/Action` each belongs to.
    pub async fn batch_build_rows(
        &self,
        execution_id: &str,
    ) -> Result<Vec<(String, db::BatchBuildRow)>> {
        let mut conn = self.conn().await?;
        let actions = db::action_executions(&mut conn, execution_id).await?;
        Ok(db::batch_builds_of_execution(&mut conn, execution_id)
            .await?
            .into_iter()
            .filter_map(|build| {
                let action = actions.iter().find(|a| a.id == build.action_execution_id)?;
                Some((format!("{}/{}", action.stage, action.action), build))
            })
            .collect())
    }
}
