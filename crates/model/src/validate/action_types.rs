//! What the catalog of AWS action types says of one action: a type AWS has, a V2-only type in a V1
//! pipeline, its required configuration present, no property the type does not take, allowed
//! values, its artifact counts, and values that `get-pipeline` masked.

use super::*;
use crate::ActionOwner;
use crate::catalog::{self, ActionTypeSpec, ArtifactCount, MASKED_VALUE, PropertyKind};

impl Checker<'_> {
    pub(super) fn action_type(&mut self, path: &str, action: &Action, v2: bool) {
        self.masked_values(path, action);
        let id = &action.action_type_id;
        let Some(spec) = catalog::find(id) else {
            // Custom and third-party types are registered per account; only AWS's own are known.
            if id.owner == ActionOwner::Aws && id.category.is_known() {
                self.unknown_action_type(path, action);
            }
            return;
        };
        if spec.requires_v2 && !v2 {
            self.needs_v2(
                &format!("{path}/actionTypeId"),
                &format!("{} {} actions", spec.provider, spec.category),
            );
        }
        self.configuration(path, action, spec);
        for (code, key, kind, count, allowed) in [
            (
                "input-artifact-count",
                "inputArtifacts",
                "input",
                action.inputs().len(),
                spec.input_artifacts,
            ),
            (
                "output-artifact-count",
                "outputArtifacts",
                "output",
                action.outputs().len(),
                spec.output_artifacts,
            ),
        ] {
            if !allowed.allows(count) {
                self.push_hint(
                    Severity::Aws,
                    code,
                    format!("{path}/{key}"),
                    artifact_count_message(&action.name, kind, count, allowed),
                    format!(
                        "{} actions take {} {kind} artifacts",
                        spec.provider,
                        count_text(allowed)
                    ),
                );
            }
        }
    }

    fn unknown_action_type(&mut self, path: &str, action: &Action) {
        let id = &action.action_type_id;
        let (what, hint) = if catalog::knows_provider(id) {
            let versions: Vec<&str> = same_provider(id).map(|s| s.version.as_str()).collect();
            (
                format!(
                    "AWS has no version '{}' of the {} {} action",
                    id.version, id.category, id.provider
                ),
                format!("its versions: {}", versions.join(", ")),
            )
        } else {
            let providers: Vec<&str> = catalog::action_types()
                .iter()
                .filter(|s| s.category == id.category.as_str() && s.owner == "AWS")
                .map(|s| s.provider.as_str())
                .collect();
            (
                format!(
                    "AWS has no {} action from the provider '{}'",
                    id.category, id.provider
                ),
                format!("AWS's {} providers: {}", id.category, providers.join(", ")),
            )
        };
        // A warning, not an AWS error: AWS adds action types, and the catalog may lag behind.
        self.push_hint(
            Severity::Warning,
            "unknown-action-type",
            format!("{path}/actionTypeId/provider"),
            format!("{what} (in Pipewright's catalog of action types); CreatePipeline would refuse it if it is missing there too"),
            hint,
        );
    }

    fn configuration(&mut self, path: &str, action: &Action, spec: &ActionTypeSpec) {
        let configuration = action.configuration.as_ref();
        let value = |name: &str| configuration.and_then(|c| c.get(name));
        for property in &spec.properties {
            if property.required && value(&property.name).is_none_or(|v| v.is_empty()) {
                self.push_hint(
                    Severity::Aws,
                    "missing-configuration",
                    // The property's own place, or the configuration itself when there is none.
                    match configuration {
                        Some(_) => format!("{path}/configuration/{}", pointer_key(&property.name)),
                        None => format!("{path}/configuration"),
                    },
                    // AWS's own words (InvalidActionDeclarationException).
                    format!(
                        "Action configuration for action '{}' is missing required configuration '{}'",
                        action.name, property.name
                    ),
                    property.description.clone(),
                );
            }
        }
        for (key, text) in configuration.into_iter().flatten() {
            let kpath = format!("{path}/configuration/{}", pointer_key(key));
            let Some(property) = spec.property(key) else {
                let hint = match spec
                    .properties
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(key))
                {
                    Some(p) => format!("did you mean {}?", p.name),
                    None => format!(
                        "it takes: {}",
                        spec.properties
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                self.push_hint(
                    Severity::Aws,
                    "unknown-configuration",
                    kpath,
                    format!(
                        "Action configuration for action '{}' contains unknown configuration '{key}' ({} actions do not take it)",
                        action.name, spec.provider
                    ),
                    hint,
                );
                continue;
            };
            // A variable is resolved at run time; only a literal can be checked now.
            if text.contains("#{") {
                continue;
            }
            if let Some(allowed) = &property.allowed_values
                && !allowed.iter().any(|a| a == text)
            {
                self.push(
                    Severity::Aws,
                    "unknown-value",
                    kpath,
                    format!("{key} is '{text}', not one of {}", allowed.join(", ")),
                );
            } else if property.kind == PropertyKind::Boolean
                && !text.eq_ignore_ascii_case("true")
                && !text.eq_ignore_ascii_case("false")
            {
                self.push(
                    Severity::Warning,
                    "not-a-boolean",
                    kpath,
                    format!("{key} is '{text}'; it is read as true or false"),
                );
            } else if property.kind == PropertyKind::Number && text.trim().parse::<f64>().is_err() {
                self.push(
                    Severity::Warning,
                    "not-a-number",
                    kpath,
                    format!("{key} is '{text}', where a number is expected"),
                );
            }
        }
    }

    fn masked_values(&mut self, path: &str, action: &Action) {
        for (key, text) in action.configuration.iter().flatten() {
            if text == MASKED_VALUE {
                self.push_hint(
                    Severity::Warning,
                    "masked-value",
                    format!("{path}/configuration/{}", pointer_key(key)),
                    format!("{key} is '{MASKED_VALUE}', the mask get-pipeline puts on a secret; pushing this pipeline sends '{MASKED_VALUE}' as the value"),
                    "type the real value before pushing; locally it is never used",
                );
            }
        }
    }
}

fn same_provider(id: &crate::ActionTypeId) -> impl Iterator<Item = &'static ActionTypeSpec> + '_ {
    catalog::action_types().iter().filter(move |s| {
        s.category == id.category.as_str()
            && s.owner == id.owner.as_str()
            && s.provider == id.provider
    })
}

/// As CreatePipeline words it: "Action Deploy declares 0 input artifacts which is less than the
/// minimum count (1)".
fn artifact_count_message(
    action: &str,
    kind: &str,
    count: usize,
    allowed: ArtifactCount,
) -> String {
    if count < allowed.minimum_count {
        format!(
            "Action {action} declares {count} {kind} artifacts which is less than the minimum count ({})",
            allowed.minimum_count
        )
    } else {
        format!(
            "Action {action} declares {count} {kind} artifacts which is more than the maximum count ({})",
            allowed.maximum_count
        )
    }
}

fn count_text(count: ArtifactCount) -> String {
    if count.minimum_count == count.maximum_count {
        format!("exactly {}", count.minimum_count)
    } else {
        format!("{} to {}", count.minimum_count, count.maximum_count)
    }
}
