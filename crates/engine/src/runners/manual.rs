//! Manual approvals: the action waits, with a token, until someone approves or rejects it (from
//! any process sharing the data directory: the decision is a row in the database), or until it
//! expires.

use std::time::Duration;

use super::{ActionRun, Outcome, Services};
use crate::status::ActionStatus;

/// How often the database is asked for a decision. A decision from another process shows
/// within this time, well inside the promised second.
const POLL: Duration = Duration::from_millis(200);

pub async fn run(services: &Services, run: &ActionRun) -> Outcome {
    let Some((token, expires_ms)) = run.approval.clone() else {
        return Outcome::failed("InternalError", "the approval has no token");
    };
    run.log
        .note(format!("Waiting for approval (token {token})"));
    if let Some(data) = run.action.config("CustomData") {
        run.log.note(format!("CustomData: {data}"));
    }
    if let Some(link) = run.action.config("ExternalEntityLink") {
        run.log.note(format!("ExternalEntityLink: {link}"));
    }
    loop {
        let row = match services.store.pool().acquire().await {
            Ok(mut conn) => {
                pipewright_store::action_execution(&mut conn, &run.action_execution_id).await
            }
            Err(error) => Err(error.into()),
        };
        match row {
            Ok(Some(row)) => {
                if let Some(status) = row.approval_status.as_deref() {
                    let by = row.approved_by.clone().unwrap_or_default();
                    let said = row.approval_summary.clone().filter(|s| !s.is_empty());
                    let summary = match &said {
                        Some(text) => format!("{status} by {by}: {text}"),
                        None => format!("{status} by {by}"),
                    };
                    run.log.note(summary.clone());
                    return if status == "Approved" {
                        Outcome::succeeded(said.or(Some(summary)))
                    } else {
                        Outcome::failed("Rejected", summary)
                    };
                }
            }
            Ok(None) => {
                return Outcome::failed("InternalError", "the approval's record disappeared");
            }
            // A busy or briefly unavailable database is asked again at the next tick.
            Err(_) => {}
        }
        if services.clock.now_ms() >= expires_ms {
            let summary = "The approval expired before anyone approved or rejected it".to_owned();
            run.log.note(summary.clone());
            return Outcome::failed("ApprovalExpired", summary);
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = run.cancel.cancelled() => {
                let mut outcome = Outcome::failed("Abandoned", "The approval was abandoned when the execution stopped");
                outcome.status = ActionStatus::Abandoned;
                return outcome;
            }
        }
    }
}
