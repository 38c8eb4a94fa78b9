//! One action: its name, type, artifacts, timeout, provider rules and `#{...}` references.

use super::*;

impl Checker<'_> {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn action(
        &mut self,
        path: &str,
        s: usize,
        stage: &Stage,
        action: &Action,
        v2: bool,
        artifacts: &HashMap<&str, Producer>,
        namespaces: &HashMap<&str, Producer>,
    ) {
        self.name(format!("{path}/name"), "action", &action.name);
        let type_id = &action.action_type_id;
        self.known_enum(
            &format!("{path}/actionTypeId/category"),
            Some((
                type_id.category.is_known(),
                type_id.category.as_str(),
                ActionCategory::KNOWN,
            )),
        );
        self.known_enum(
            &format!("{path}/actionTypeId/owner"),
            Some((
                type_id.owner.is_known(),
                type_id.owner.as_str(),
                crate::ActionOwner::KNOWN,
            )),
        );
        if let Some(order) = action.run_order
            && !(1..=999).contains(&order)
        {
            self.push(
                Severity::Error,
                "run-order-range",
                format!("{path}/runOrder"),
                format!("runOrder {order} is outside 1 to 999"),
            );
        }
        let is_source = type_id.category == ActionCategory::Source;
        if s == 0 && !is_source {
            self.push_hint(
                Severity::Aws,
                "first-stage-not-source",
                format!("{path}/actionTypeId/category"),
                format!(
                    "AWS accepts only Source actions in the first stage; '{}' is {}",
                    action.name, type_id.category
                ),
                "move this action to a later stage, or run the pipeline locally only",
            );
        }
        if s > 0 && is_source {
            self.push(
                Severity::Aws,
                "source-after-first-stage",
                format!("{path}/actionTypeId/category"),
                format!(
                    "AWS accepts Source actions only in the first stage; '{}' is in '{}'",
                    action.name, stage.name
                ),
            );
        }
        if let Some(namespace) = &action.namespace
            && (!identifier_is_valid(namespace)
                || namespace == PIPELINE_NAMESPACE
                || namespace == CODEPIPELINE_NAMESPACE)
        {
            self.push(
                Severity::Error,
                "invalid-namespace",
                format!("{path}/namespace"),
                format!("'{namespace}' cannot be used as a namespace"),
            );
        }
        let here = Producer {
            stage: s,
            run_order: action.run_order(),
        };
        for (i, input) in action.inputs().iter().enumerate() {
            let ipath = format!("{path}/inputArtifacts/{i}");
            match artifacts.get(input.name.as_str()) {
                None => self.push_hint(
                    Severity::Error,
                    "unknown-input-artifact",
                    ipath,
                    format!("no action outputs an artifact named '{}'", input.name),
                    "name an output artifact of an earlier action",
                ),
                Some(producer) if !producer.is_before(s, action.run_order()) => self.push_hint(
                    Severity::Error,
                    "input-artifact-not-yet-produced",
                    ipath,
                    format!("the artifact '{}' is produced by an action that runs later or at the same time", input.name),
                    "an input must come from an earlier stage or a lower runOrder",
                ),
                Some(_) => {}
            }
        }
        self.action_timeout(path, action);
        self.action_provider(path, action, v2);
        self.action_references(path, action, here, namespaces);
        for (i, variable) in action.environment_variables().iter().enumerate() {
            if variable.variable_type == Some(crate::EnvironmentVariableType::SecretsManager) {
                self.push(
                    Severity::Warning,
                    "secret-not-local",
                    format!("{path}/environmentVariables/{i}"),
                    format!("'{}' comes from Secrets Manager, which the local engine cannot read; it is set to the secret's name", variable.name),
                );
            }
        }
        for (o, output) in action.outputs().iter().enumerate() {
            for (f, pattern) in output
                .files
                .as_deref()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                if pattern.starts_with('/') || pattern.split('/').any(|part| part == "..") {
                    self.push(
                        Severity::Error,
                        "artifact-path-escapes",
                        format!("{path}/outputArtifacts/{o}/files/{f}"),
                        format!("'{pattern}' points outside the action's working directory"),
                    );
                }
            }
        }
    }

    fn action_timeout(&mut self, path: &str, action: &Action) {
        let Some(minutes) = action.timeout_in_minutes else {
            return;
        };
        if action.is_manual_approval() {
            if !APPROVAL_TIMEOUT_MINUTES.contains(&minutes) {
                self.push(
                    Severity::Error,
                    "approval-timeout-range",
                    format!("{path}/timeoutInMinutes"),
                    format!("a manual approval times out after 5 to 86400 minutes, not {minutes}"),
                );
            }
        } else if !(action.action_type_id.category == ActionCategory::Compute
            && action.action_type_id.provider == "Commands")
        {
            self.push(
                Severity::Aws,
                "timeout-not-supported",
                format!("{path}/timeoutInMinutes"),
                "AWS accepts timeoutInMinutes only on manual approval and Commands actions; the local engine honours it".into(),
            );
        }
    }

    fn action_provider(&mut self, path: &str, action: &Action, v2: bool) {
        let type_id = &action.action_type_id;
        let is_commands =
            type_id.category == ActionCategory::Compute && type_id.provider == "Commands";
        if is_commands {
            let count = action.commands().len();
            if count == 0 || count > MAX_COMMANDS {
                self.push(
                    Severity::Error,
                    "commands-count",
                    format!("{path}/commands"),
                    format!(
                        "a Commands action runs 1 to {MAX_COMMANDS} commands; this one has {count}"
                    ),
                );
            }
        } else if action.commands.is_some() {
            self.push(
                Severity::Error,
                "commands-not-allowed",
                format!("{path}/commands"),
                "only Commands actions (category Compute, provider Commands) take commands".into(),
            );
        }
        self.action_type(path, action, v2);
    }

    /// The `#{...}` references in an action's configuration, commands and environment.
    fn action_references(
        &mut self,
        path: &str,
        action: &Action,
        here: Producer,
        namespaces: &HashMap<&str, Producer>,
    ) {
        let mut texts = configuration_texts(path, action.configuration.as_ref());
        for (i, command) in action.commands().iter().enumerate() {
            texts.push((format!("{path}/commands/{i}"), command));
        }
        for (i, variable) in action.environment_variables().iter().enumerate() {
            texts.push((
                format!("{path}/environmentVariables/{i}/value"),
                &variable.value,
            ));
        }
        self.references(texts, here, namespaces);
    }

    /// Checks every `#{...}` reference in `texts` (JSON path, text) as seen from `here`: pipeline
    /// variables must be declared, and namespaces set by an action that runs earlier.
    pub(super) fn references(
        &mut self,
        texts: Vec<(String, &str)>,
        here: Producer,
        namespaces: &HashMap<&str, Producer>,
    ) {
        let declared: HashSet<&str> = self
            .pipeline
            .variables()
            .iter()
            .map(|v| v.name.as_str())
            .collect();
        for (tpath, text) in texts {
            for reference in variables::references(text) {
                let problem = match reference.namespace {
                    PIPELINE_NAMESPACE if !declared.contains(reference.name) => Some((
                        "unknown-variable",
                        format!(
                            "{} names a pipeline variable that is not declared",
                            reference.text()
                        ),
                    )),
                    PIPELINE_NAMESPACE => None,
                    CODEPIPELINE_NAMESPACE if !CODEPIPELINE_VARIABLES.contains(&reference.name) => {
                        Some((
                            "unknown-variable",
                            format!(
                                "{} is not a CodePipeline variable; the only one is #{{codepipeline.PipelineExecutionId}}",
                                reference.text()
                            ),
                        ))
                    }
                    CODEPIPELINE_NAMESPACE => None,
                    namespace => match namespaces.get(namespace) {
                        None => Some((
                            "unknown-namespace",
                            format!(
                                "{} names the namespace '{namespace}', which no action declares",
                                reference.text()
                            ),
                        )),
                        Some(producer) if !producer.is_before(here.stage, here.run_order) => {
                            Some((
                                "namespace-not-yet-produced",
                                format!(
                                    "{} is set by an action that runs later or at the same time",
                                    reference.text()
                                ),
                            ))
                        }
                        Some(_) => None,
                    },
                };
                if let Some((code, message)) = problem {
                    self.push(Severity::Error, code, tpath.clone(), message);
                }
            }
        }
    }
}
