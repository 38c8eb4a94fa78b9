//! What pushing a pipeline would change where it is deployed: stages and actions added, removed,
//! moved or changed (and which of their fields), and the pipeline's own fields. Compared by name,
//! on the declarations as JSON, so fields this version does not model count too.

use pipewright_model::PipelineDeclaration;
use serde::Serialize;
use serde_json::{Map, Value};
use ts_rs::TS;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PlanChange {
    /// `add`, `remove`, `move` or `change`.
    pub kind: String,
    /// What it is about: `pipeline`, `stage Build`, `action Build/Make`.
    pub subject: String,
    /// For a change, the fields that differ; for a move, where from and to.
    pub detail: String,
}

#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PipelinePlan {
    pub pipeline: String,
    /// The version deployed now; absent when the pipeline does not exist there yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub deployed_version: Option<u32>,
    pub changes: Vec<PlanChange>,
}

impl PipelinePlan {
    pub fn is_empty(&self) -> bool {
        self.deployed_version.is_some() && self.changes.is_empty()
    }
}

/// The plan to make `deployed` (None: nothing deployed) into `local`.
pub fn plan(local: &PipelineDeclaration, deployed: Option<&PipelineDeclaration>) -> PipelinePlan {
    let Some(deployed) = deployed else {
        return PipelinePlan {
            pipeline: local.name.clone(),
            deployed_version: None,
            changes: vec![change(
                "add",
                "pipeline",
                &format!("{} stages", local.stages.len()),
            )],
        };
    };
    let mut changes = Vec::new();
    let (mut mine, mut theirs) = (as_object(local), as_object(deployed));
    let my_stages = take_list(&mut mine, "stages");
    let their_stages = take_list(&mut theirs, "stages");
    // The version is the deployed one's business: a push makes the next.
    mine.remove("version");
    theirs.remove("version");
    let fields = differing_keys(&mine, &theirs);
    if !fields.is_empty() {
        changes.push(change("change", "pipeline", &fields.join(", ")));
    }
    let name_of = |v: &Value| v["name"].as_str().unwrap_or_default().to_owned();
    let their_names: Vec<String> = their_stages.iter().map(name_of).collect();
    let my_names: Vec<String> = my_stages.iter().map(name_of).collect();
    for name in &their_names {
        if !my_names.contains(name) {
            changes.push(change("remove", &format!("stage {name}"), ""));
        }
    }
    // A stage has moved when its place among the stages both sides have differs: adding or
    // removing a stage moves none of the others.
    let common = |names: &[String], other: &[String]| -> Vec<String> {
        names
            .iter()
            .filter(|n| other.contains(n))
            .cloned()
            .collect()
    };
    let (mine_common, theirs_common) = (
        common(&my_names, &their_names),
        common(&their_names, &my_names),
    );
    for (at, name) in theirs_common.iter().enumerate() {
        if let Some(now) = mine_common.iter().position(|n| n == name)
            && now != at
        {
            changes.push(change(
                "move",
                &format!("stage {name}"),
                &format!("from position {} to {}", at + 1, now + 1),
            ));
        }
    }
    for (at, stage) in my_stages.iter().enumerate() {
        let name = &my_names[at];
        match their_names.iter().position(|n| n == name) {
            None => changes.push(change(
                "add",
                &format!("stage {name}"),
                &format!(
                    "{} actions",
                    stage["actions"].as_array().map_or(0, Vec::len)
                ),
            )),
            Some(there) => compare_stage(name, stage, &their_stages[there], &mut changes),
        }
    }
    PipelinePlan {
        pipeline: local.name.clone(),
        deployed_version: deployed.version,
        changes,
    }
}

fn compare_stage(name: &str, mine: &Value, theirs: &Value, changes: &mut Vec<PlanChange>) {
    let (mut mine, mut theirs) = (
        mine.as_object().cloned().unwrap_or_default(),
        theirs.as_object().cloned().unwrap_or_default(),
    );
    let my_actions = take_list(&mut mine, "actions");
    let their_actions = take_list(&mut theirs, "actions");
    let fields = differing_keys(&mine, &theirs);
    if !fields.is_empty() {
        changes.push(change(
            "change",
            &format!("stage {name}"),
            &fields.join(", "),
        ));
    }
    let find = |list: &[Value], action: &str| list.iter().find(|a| a["name"] == action).cloned();
    for action in &their_actions {
        let action_name = action["name"].as_str().unwrap_or_default();
        if find(&my_actions, action_name).is_none() {
            changes.push(change(
                "remove",
                &format!("action {name}/{action_name}"),
                "",
            ));
        }
    }
    for action in &my_actions {
        let action_name = action["name"].as_str().unwrap_or_default();
        let subject = format!("action {name}/{action_name}");
        match find(&their_actions, action_name) {
            None => changes.push(change("add", &subject, "")),
            Some(there) => {
                let fields = differing_keys(
                    action.as_object().unwrap_or(&Map::new()),
                    there.as_object().unwrap_or(&Map::new()),
                );
                if !fields.is_empty() {
                    changes.push(change("change", &subject, &fields.join(", ")));
                }
            }
        }
    }
}

fn change(kind: &str, subject: &str, detail: &str) -> PlanChange {
    PlanChange {
        kind: kind.to_owned(),
        subject: subject.to_owned(),
        detail: detail.to_owned(),
    }
}

fn as_object(declaration: &PipelineDeclaration) -> Map<String, Value> {
    match serde_json::to_value(declaration) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

fn take_list(object: &mut Map<String, Value>, key: &str) -> Vec<Value> {
    match object.remove(key) {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

/// The keys whose values differ (a key on one side only counts), in alphabetical order. What AWS
/// fills in when a file leaves it out does not count: a missing `runOrder` is 1, `pipelineType`
/// V1, `executionMode` SUPERSEDED, and a missing list or map is an empty one (`get-pipeline`
/// prints `"inputArtifacts": []`).
fn differing_keys(a: &Map<String, Value>, b: &Map<String, Value>) -> Vec<String> {
    let normal = |map: &Map<String, Value>, key: &str| -> Option<Value> {
        match (key, map.get(key)) {
            ("runOrder", None) => Some(Value::from(1)),
            ("pipelineType", None) => Some(Value::from("V1")),
            ("executionMode", None) => Some(Value::from("SUPERSEDED")),
            (_, Some(Value::Array(items))) if items.is_empty() => None,
            (_, Some(Value::Object(fields))) if fields.is_empty() => None,
            (_, value) => value.cloned(),
        }
    };
    let mut keys: Vec<&String> = a.keys().collect();
    keys.extend(b.keys().filter(|k| !a.contains_key(*k)));
    keys.sort_unstable();
    keys.into_iter()
        .filter(|k| normal(a, k) != normal(b, k))
        .map(|k| k.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declaration(value: Value) -> PipelineDeclaration {
        serde_json::from_value(value).expect("a declaration")
    }

    fn make(name: &str, command: &str) -> Value {
        serde_json::json!({"name": name, "commands": [command],
            "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}})
    }

    #[test]
    fn a_stage_added_in_front_moves_none_of_the_others() {
        let deployed = declaration(
            serde_json::json!({"name": "p", "pipelineType": "V1", "stages": [
            {"name": "Build", "actions": []}, {"name": "Test", "actions": []}]}),
        );
        let local = declaration(serde_json::json!({"name": "p", "stages": [
            {"name": "Source", "actions": []}, {"name": "Build", "actions": []}, {"name": "Test", "actions": []}]}));
        let plan = plan(&local, Some(&deployed));
        let kinds: Vec<(&str, &str)> = plan
            .changes
            .iter()
            .map(|c| (c.kind.as_str(), c.subject.as_str()))
            .collect();
        assert_eq!(kinds, [("add", "stage Source")]);
    }

    #[test]
    fn nothing_deployed_is_one_addition() {
        let local =
            declaration(serde_json::json!({"name": "p", "stages": [{"name": "A", "actions": []}]}));
        let plan = plan(&local, None);
        assert!(!plan.is_empty());
        assert_eq!(plan.changes[0].kind, "add");
    }

    #[test]
    fn the_same_pipeline_plans_nothing_whatever_the_version_or_the_defaults_aws_fills_in() {
        let mut deployed = declaration(
            serde_json::json!({"name": "p", "version": 4, "stages": [{"name": "A", "actions": [make("x", "true")]}]}),
        );
        let local = declaration(
            serde_json::json!({"name": "p", "stages": [{"name": "A", "actions": [
            {"name": "x", "runOrder": 1, "commands": ["true"], "inputArtifacts": [], "outputArtifacts": [],
             "actionTypeId": {"category": "Compute", "owner": "AWS", "provider": "Commands", "version": "1"}}]}]}),
        );
        assert!(plan(&local, Some(&deployed)).is_empty());
        deployed.version = Some(5);
        assert!(plan(&local, Some(&deployed)).is_empty());
    }

    #[test]
    fn stages_and_actions_added_removed_moved_and_changed_are_named() {
        let deployed = declaration(
            serde_json::json!({"name": "p", "executionMode": "QUEUED", "stages": [
            {"name": "Source", "actions": [make("get", "true")]},
            {"name": "Build", "actions": [make("make", "make"), make("lint", "lint")]},
            {"name": "Old", "actions": []}]}),
        );
        let local = declaration(
            serde_json::json!({"name": "p", "executionMode": "PARALLEL", "futureField": 1, "stages": [
            {"name": "Build", "actions": [make("make", "make -j4"), make("test", "test")]},
            {"name": "Source", "actions": [make("get", "true")]},
            {"name": "Deploy", "actions": [make("ship", "ship")]}]}),
        );
        let plan = plan(&local, Some(&deployed));
        let lines: Vec<String> = plan
            .changes
            .iter()
            .map(|c| {
                format!("{} {} {}", c.kind, c.subject, c.detail)
                    .trim()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            lines,
            [
                "change pipeline executionMode, futureField",
                "remove stage Old",
                "move stage Source from position 1 to 2",
                "move stage Build from position 2 to 1",
                "remove action Build/lint",
                "change action Build/make commands",
                "add action Build/test",
                "add stage Deploy 1 actions",
            ]
        );
    }
}
