//! Stage conditions (beforeEntry, onSuccess, onFailure) and their rules.

use super::*;

impl Checker<'_> {
    pub(super) fn stage_conditions(
        &mut self,
        path: &str,
        s: usize,
        stage: &Stage,
        v2: bool,
        namespaces: &HashMap<&str, Producer>,
    ) {
        let has_conditions = stage
            .before_entry
            .as_ref()
            .and_then(|c| c.conditions.as_ref())
            .is_some()
            || stage
                .on_success
                .as_ref()
                .and_then(|c| c.conditions.as_ref())
                .is_some()
            || stage
                .on_failure
                .as_ref()
                .and_then(|c| c.conditions.as_ref())
                .is_some();
        if has_conditions && !v2 {
            self.needs_v2(path, "stage conditions");
        }
        let kinds = [
            (
                "beforeEntry",
                stage
                    .before_entry
                    .as_ref()
                    .and_then(|c| c.conditions.as_ref()),
                &[StageFailureResult::Fail, StageFailureResult::Skip][..],
            ),
            (
                "onSuccess",
                stage
                    .on_success
                    .as_ref()
                    .and_then(|c| c.conditions.as_ref()),
                &[StageFailureResult::Rollback, StageFailureResult::Fail][..],
            ),
            (
                "onFailure",
                stage
                    .on_failure
                    .as_ref()
                    .and_then(|c| c.conditions.as_ref()),
                &[StageFailureResult::Rollback][..],
            ),
        ];
        for (key, conditions, allowed) in kinds {
            // beforeEntry rules run before the stage's actions; the others after all of them.
            let here = Producer {
                stage: s,
                run_order: if key == "beforeEntry" { 0 } else { u32::MAX },
            };
            for (c, condition) in conditions.into_iter().flatten().enumerate() {
                let cpath = format!("{path}/{key}/conditions/{c}");
                if let Some(result) = &condition.result
                    && !allowed.contains(result)
                {
                    let allowed: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
                    self.push(
                        Severity::Error,
                        "condition-result",
                        format!("{cpath}/result"),
                        format!(
                            "a {key} condition engages {}, not {result}",
                            allowed.join(" or ")
                        ),
                    );
                }
                let rules = condition.rules.as_deref().unwrap_or_default();
                if rules.is_empty() || rules.len() > 5 {
                    self.push(
                        Severity::Error,
                        "condition-rule-count",
                        format!("{cpath}/rules"),
                        format!("a condition holds 1 to 5 rules, not {}", rules.len()),
                    );
                }
                for (r, rule) in rules.iter().enumerate() {
                    let rpath = format!("{cpath}/rules/{r}");
                    self.rule(&rpath, rule);
                    let mut texts = configuration_texts(&rpath, rule.configuration.as_ref());
                    for (i, command) in rule.commands.iter().flatten().enumerate() {
                        texts.push((format!("{rpath}/commands/{i}"), command));
                    }
                    self.references(texts, here, namespaces);
                }
            }
        }
        let Some(on_failure) = &stage.on_failure else {
            return;
        };
        let fpath = format!("{path}/onFailure");
        self.known_enum(
            &format!("{fpath}/result"),
            on_failure
                .result
                .as_ref()
                .map(|r| (r.is_known(), r.as_str(), StageFailureResult::KNOWN)),
        );
        if let Some(mode) = on_failure
            .retry_configuration
            .as_ref()
            .and_then(|r| r.retry_mode.as_ref())
        {
            self.known_enum(
                &format!("{fpath}/retryConfiguration/retryMode"),
                Some((mode.is_known(), mode.as_str(), crate::RetryMode::KNOWN)),
            );
        }
        if on_failure.result == Some(StageFailureResult::Rollback)
            && self.pipeline.execution_mode() == ExecutionMode::Parallel
        {
            self.push(
                Severity::Error,
                "rollback-in-parallel-mode",
                format!("{fpath}/result"),
                "PARALLEL execution mode does not allow rollback".into(),
            );
        }
        if on_failure.result == Some(StageFailureResult::Retry)
            && on_failure
                .conditions
                .as_ref()
                .is_some_and(|c| !c.is_empty())
        {
            self.push(
                Severity::Error,
                "retry-with-conditions",
                format!("{fpath}/conditions"),
                "automatic retry (result RETRY) cannot be combined with onFailure conditions"
                    .into(),
            );
        }
        if on_failure
            .result
            .as_ref()
            .is_some_and(|r| *r != StageFailureResult::Fail)
            && !v2
        {
            self.needs_v2(
                &format!("{fpath}/result"),
                "stage onFailure results other than FAIL",
            );
        }
    }

    fn rule(&mut self, path: &str, rule: &crate::RuleDeclaration) {
        self.name(format!("{path}/name"), "rule", &rule.name);
        if rule.rule_type_id.provider == "VariableCheck" {
            for key in ["Variable", "Value", "Operator"] {
                if rule
                    .configuration
                    .as_ref()
                    .and_then(|c| c.get(key))
                    .is_none()
                {
                    self.push(
                        Severity::Error,
                        "missing-configuration",
                        format!("{path}/configuration"),
                        format!("a VariableCheck rule needs {key} in its configuration"),
                    );
                }
            }
            if let Some(operator) = rule.configuration.as_ref().and_then(|c| c.get("Operator"))
                && !["EQ", "NE", "CONTAINS", "MATCHES"].contains(&operator.as_str())
            {
                self.push(
                    Severity::Error,
                    "unknown-value",
                    format!("{path}/configuration/Operator"),
                    format!("'{operator}' is not one of EQ, NE, CONTAINS, MATCHES"),
                );
            }
        }
        for (i, command) in rule.commands.iter().flatten().enumerate() {
            if command.trim().is_empty() || command.chars().count() > 1000 {
                self.push(
                    Severity::Aws,
                    "command-length",
                    format!("{path}/commands/{i}"),
                    "a command is 1 to 1000 characters, not blank".into(),
                );
            }
        }
        if rule.rule_type_id.provider == "Commands"
            && rule.commands.as_deref().unwrap_or_default().is_empty()
        {
            self.push(
                Severity::Error,
                "commands-count",
                format!("{path}/commands"),
                "a Commands rule runs at least one command".into(),
            );
        }
    }
}
