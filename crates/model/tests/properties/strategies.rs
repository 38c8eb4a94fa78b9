//! Generators for declarations, names, strings that YAML likes to reinterpret, and JSON values.

use indexmap::IndexMap;
use pipewright_model::{
    Action, ActionCategory, ActionOwner, ActionTypeId, ArtifactStore, Condition, Conditions,
    EncryptionKey, EnvironmentVariable, EnvironmentVariableType, ExecutionMode, Extra,
    FailureConditions, GitConfiguration, GitPullRequestFilter, GitPushFilter, IncludeExclude,
    InputArtifact, OutputArtifact, PipelineDeclaration, PipelineType, PipelineVariableDeclaration,
    RetryConfiguration, RetryMode, RuleDeclaration, RuleTypeId, Stage, StageFailureResult,
    TriggerDeclaration,
};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::Value;

/// Strings a YAML 1.1 or 1.2 reader would take for something other than that string, or that need
/// quoting, escaping or block style to survive.
pub const TRICKY: &[&str] = &[
    "true",
    "false",
    "True",
    "FALSE",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Y",
    "N",
    "null",
    "Null",
    "NULL",
    "~",
    "",
    "1",
    "01",
    "007",
    "-1",
    "+1",
    "1.0",
    "1e3",
    "1E-3",
    ".5",
    "-.5",
    "0x10",
    "0o17",
    "0b101",
    "1_000",
    ".inf",
    "-.Inf",
    ".NaN",
    "nan",
    "2024-01-01",
    "2024-01-01T10:00:00Z",
    "12:30:00",
    "1:30",
    " lead",
    "trail ",
    " both ",
    "a #b",
    "#c",
    "a: b",
    "a:b",
    "- x",
    "-",
    "? q",
    ":",
    "multi\nline",
    "trailing\n",
    "two trailing\n\n",
    "\nleading",
    "\n",
    "  \n  indented",
    "\ttab",
    "tab\t",
    "cr\r\nlf",
    "lone\rcr",
    "unicode ✓ ünïcödé",
    "emoji 🚀",
    "日本語",
    "'single'",
    "\"double\"",
    "it's",
    "back\\slash",
    "{x: 1}",
    "[1, 2]",
    "&anchor",
    "*alias",
    "!tag",
    "!!str",
    "%YAML",
    "@at",
    "`tick",
    "|",
    "|-",
    ">",
    "---",
    "...",
    "--- x",
    "\u{feff}bom",
    "nel\u{85}x",
    "ls\u{2028}x",
    "nul\u{0}",
    "bell\u{7}",
    "esc\u{1b}[0m",
    "del\u{7f}",
    "=",
    "<<",
    "#{variables.env}",
    "#{SourceVariables.CommitId}",
    "  ",
    "\u{a0}nbsp",
    "a,b",
    "x # y # z",
    "line one\n  line two\n",
];

pub fn tricky_string() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(TRICKY).prop_map(str::to_owned),
        2 => "\\PC{0,16}",
        1 => "(?s).{0,16}",
        // Long enough for folded block style, with runs of spaces that folding could eat.
        1 => "[a-z ]{70,120}",
        1 => "( {0,3}[a-z]{1,8}\n){1,4} {0,3}",
    ]
    .boxed()
}

/// CodePipeline's name charset.
pub fn valid_name() -> BoxedStrategy<String> {
    "[A-Za-z0-9.@_-]{1,20}".boxed()
}

const NAME_POOL: &[&str] = &["Source", "Build", "Deploy", "A", "B", "out", "src", "1.0"];

/// Mostly valid names, drawn often from a small pool so that duplicates happen, now and then any
/// string at all.
pub fn name() -> BoxedStrategy<String> {
    prop_oneof![
        4 => valid_name(),
        3 => select(NAME_POOL).prop_map(str::to_owned),
        1 => tricky_string(),
    ]
    .boxed()
}

const NAMESPACE_POOL: &[&str] = &[
    "SourceVariables",
    "BuildVariables",
    "variables",
    "codepipeline",
    "A",
];

/// Namespaces and variable names.
pub fn identifier() -> BoxedStrategy<String> {
    prop_oneof![
        3 => "[A-Za-z0-9@_-]{1,12}",
        3 => select(NAMESPACE_POOL).prop_map(str::to_owned),
        1 => tricky_string(),
    ]
    .boxed()
}

/// `#{namespace.name}` references, good and bad, inside other text.
pub fn text_with_references() -> BoxedStrategy<String> {
    let reference = (
        prop_oneof![
            select(NAMESPACE_POOL).prop_map(str::to_owned),
            "[A-Za-z]{1,6}"
        ],
        prop_oneof![
            Just("PipelineExecutionId".to_owned()),
            Just("env".to_owned()),
            Just("CommitId".to_owned()),
            "[A-Za-z]{1,6}",
        ],
    )
        .prop_map(|(ns, name)| format!("#{{{ns}.{name}}}"));
    (tricky_string(), reference, tricky_string())
        .prop_map(|(before, reference, after)| format!("{before}{reference}{after}"))
        .boxed()
}

pub fn value_string() -> BoxedStrategy<String> {
    prop_oneof![3 => tricky_string(), 1 => text_with_references()].boxed()
}

pub fn config_map() -> BoxedStrategy<IndexMap<String, String>> {
    prop::collection::vec(
        (
            prop_oneof!["[A-Za-z]{1,12}", tricky_string()],
            value_string(),
        ),
        0..5,
    )
    .prop_map(|pairs| pairs.into_iter().collect())
    .boxed()
}

/// Any JSON value: floats finite, strings tricky, a few levels deep.
pub fn json_value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        select(&[0.0, -0.0, 1.0, 1.5, 1e300, 5e-324, 1_709_251_200.123][..])
            .prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
                .map(Value::Number)),
        tricky_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((tricky_string(), inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Unknown fields for a struct whose known (camelCase) fields are `known`.
pub fn extra(known: &'static [&'static str]) -> BoxedStrategy<Extra> {
    prop_oneof![
        3 => Just(Extra::new()),
        1 => prop::collection::vec(
            (prop_oneof!["[a-z][A-Za-z0-9]{0,10}", tricky_string()], json_value()),
            1..3,
        )
        .prop_map(move |pairs| {
            pairs
                .into_iter()
                .map(|(key, value)| {
                    let key = if known.contains(&key.as_str()) {
                        format!("x-{key}")
                    } else {
                        key
                    };
                    (key, value)
                })
                .collect()
        }),
    ]
    .boxed()
}

fn opt<T: std::fmt::Debug + Clone + 'static>(
    strategy: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop::option::weighted(0.5, strategy).boxed()
}

fn spelled<T: for<'a> From<&'a str> + std::fmt::Debug + Clone + 'static>(
    known: &'static [&'static str],
    unknown: &'static [&'static str],
) -> BoxedStrategy<T> {
    prop_oneof![
        6 => select(known),
        1 => select(unknown),
    ]
    .prop_map(T::from)
    .boxed()
}

pub fn category() -> BoxedStrategy<ActionCategory> {
    spelled(ActionCategory::KNOWN, &["Sauce", "source", "", "true"])
}

fn owner() -> BoxedStrategy<ActionOwner> {
    spelled(ActionOwner::KNOWN, &["aws", "Amazon", "null"])
}

fn execution_mode() -> BoxedStrategy<ExecutionMode> {
    spelled(ExecutionMode::KNOWN, &["FAST", "queued", "~"])
}

fn pipeline_type() -> BoxedStrategy<PipelineType> {
    spelled(PipelineType::KNOWN, &["V3", "v2", "2"])
}

fn failure_result() -> BoxedStrategy<StageFailureResult> {
    spelled(StageFailureResult::KNOWN, &["ABORT", "retry"])
}

fn retry_mode() -> BoxedStrategy<RetryMode> {
    spelled(RetryMode::KNOWN, &["SOME_ACTIONS"])
}

fn provider() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(&[
            "S3", "CodeCommit", "CodeStarSourceConnection", "GitHub", "ECR", "CodeBuild",
            "Manual", "Commands", "CloudFormation", "Lambda", "ECS",
        ][..])
        .prop_map(str::to_owned),
        1 => tricky_string(),
    ]
    .boxed()
}

fn run_order() -> BoxedStrategy<u32> {
    prop_oneof![4 => 1u32..=3, 1 => Just(0u32), 1 => 998u32..=1001, 1 => any::<u32>()].boxed()
}

fn timeout() -> BoxedStrategy<u32> {
    prop_oneof![1u32..=10, Just(60u32), 86_399u32..=86_401, any::<u32>()].boxed()
}

fn action_type_id() -> BoxedStrategy<ActionTypeId> {
    (
        category(),
        owner(),
        provider(),
        prop_oneof![Just("1".to_owned()), tricky_string()],
        extra(&["category", "owner", "provider", "version"]),
    )
        .prop_map(|(category, owner, provider, version, extra)| ActionTypeId {
            category,
            owner,
            provider,
            version,
            extra,
        })
        .boxed()
}

fn input_artifact() -> BoxedStrategy<InputArtifact> {
    (name(), extra(&["name"]))
        .prop_map(|(name, extra)| InputArtifact { name, extra })
        .boxed()
}

fn output_artifact() -> BoxedStrategy<OutputArtifact> {
    (
        name(),
        opt(prop::collection::vec(
            prop_oneof![
                select(&["dist/**", "/etc/passwd", "../up", "a/../../b", "**/*"][..])
                    .prop_map(str::to_owned),
                tricky_string()
            ],
            0..3,
        )),
        extra(&["name", "files"]),
    )
        .prop_map(|(name, files, extra)| OutputArtifact { name, files, extra })
        .boxed()
}

fn environment_variable() -> BoxedStrategy<EnvironmentVariable> {
    (
        "[A-Z_]{1,10}",
        value_string(),
        opt(spelled::<EnvironmentVariableType>(
            EnvironmentVariableType::KNOWN,
            &["PARAMETER_STORE"],
        )),
        extra(&["name", "value", "type"]),
    )
        .prop_map(|(name, value, variable_type, extra)| EnvironmentVariable {
            name,
            value,
            variable_type,
            extra,
        })
        .boxed()
}

const ACTION_FIELDS: &[&str] = &[
    "name",
    "actionTypeId",
    "runOrder",
    "configuration",
    "commands",
    "outputArtifacts",
    "inputArtifacts",
    "outputVariables",
    "roleArn",
    "region",
    "namespace",
    "timeoutInMinutes",
    "environmentVariables",
];

pub fn action() -> BoxedStrategy<Action> {
    let head = (
        name(),
        action_type_id(),
        opt(run_order()),
        opt(config_map()),
        opt(prop::collection::vec(value_string(), 0..3)),
        opt(prop::collection::vec(output_artifact(), 0..3)),
        opt(prop::collection::vec(input_artifact(), 0..3)),
    );
    let tail = (
        opt(prop::collection::vec(identifier(), 0..3)),
        opt(prop_oneof![
            Just("arn:aws:iam::123456789012:role/x".to_owned()),
            tricky_string()
        ]),
        opt(prop_oneof![Just("us-east-1".to_owned()), tricky_string()]),
        opt(identifier()),
        opt(timeout()),
        opt(prop::collection::vec(environment_variable(), 0..3)),
        extra(ACTION_FIELDS),
    );
    (head, tail)
        .prop_map(
            |(
                (name, action_type_id, run_order, configuration, commands, outputs, inputs),
                (output_variables, role_arn, region, namespace, timeout, env, extra),
            )| Action {
                name,
                action_type_id,
                run_order,
                configuration,
                commands,
                output_artifacts: outputs,
                input_artifacts: inputs,
                output_variables,
                role_arn,
                region,
                namespace,
                timeout_in_minutes: timeout,
                environment_variables: env,
                extra,
            },
        )
        .boxed()
}

fn rule() -> BoxedStrategy<RuleDeclaration> {
    (
        name(),
        (
            prop_oneof![Just("Rule".to_owned()), tricky_string()],
            opt(Just("AWS".to_owned())),
            prop_oneof![
                select(
                    &[
                        "DeploymentWindow",
                        "LambdaInvoke",
                        "CloudWatchAlarm",
                        "Commands"
                    ][..]
                )
                .prop_map(str::to_owned),
                tricky_string()
            ],
            opt(Just("1".to_owned())),
            extra(&["category", "owner", "provider", "version"]),
        ),
        opt(config_map()),
        opt(prop::collection::vec(value_string(), 0..2)),
        opt(prop::collection::vec(input_artifact(), 0..2)),
        opt(tricky_string()),
        opt(tricky_string()),
        opt(timeout()),
        extra(&[
            "name",
            "ruleTypeId",
            "configuration",
            "commands",
            "inputArtifacts",
            "roleArn",
            "region",
            "timeoutInMinutes",
        ]),
    )
        .prop_map(
            |(
                name,
                (category, owner, provider, version, type_extra),
                configuration,
                commands,
                input_artifacts,
                role_arn,
                region,
                timeout_in_minutes,
                extra,
            )| RuleDeclaration {
                name,
                rule_type_id: RuleTypeId {
                    category,
                    owner,
                    provider,
                    version,
                    extra: type_extra,
                },
                configuration,
                commands,
                input_artifacts,
                role_arn,
                region,
                timeout_in_minutes,
                extra,
            },
        )
        .boxed()
}

fn condition() -> BoxedStrategy<Condition> {
    (
        opt(failure_result()),
        opt(prop::collection::vec(rule(), 0..2)),
        extra(&["result", "rules"]),
    )
        .prop_map(|(result, rules, extra)| Condition {
            result,
            rules,
            extra,
        })
        .boxed()
}

fn conditions() -> BoxedStrategy<Conditions> {
    (
        opt(prop::collection::vec(condition(), 0..2)),
        extra(&["conditions"]),
    )
        .prop_map(|(conditions, extra)| Conditions { conditions, extra })
        .boxed()
}

fn failure_conditions() -> BoxedStrategy<FailureConditions> {
    (
        opt(failure_result()),
        opt((opt(retry_mode()), extra(&["retryMode"]))
            .prop_map(|(retry_mode, extra)| RetryConfiguration { retry_mode, extra })),
        opt(prop::collection::vec(condition(), 0..2)),
        extra(&["result", "retryConfiguration", "conditions"]),
    )
        .prop_map(
            |(result, retry_configuration, conditions, extra)| FailureConditions {
                result,
                retry_configuration,
                conditions,
                extra,
            },
        )
        .boxed()
}

pub fn stage(actions: std::ops::RangeInclusive<usize>) -> BoxedStrategy<Stage> {
    (
        name(),
        prop::collection::vec(action(), actions),
        opt(prop::collection::vec(json_value(), 0..2)),
        opt(conditions()),
        opt(conditions()),
        opt(failure_conditions()),
        extra(&[
            "name",
            "actions",
            "blockers",
            "beforeEntry",
            "onSuccess",
            "onFailure",
        ]),
    )
        .prop_map(
            |(name, actions, blockers, before_entry, on_success, on_failure, extra)| Stage {
                name,
                actions,
                blockers,
                before_entry,
                on_success,
                on_failure,
                extra,
            },
        )
        .boxed()
}

fn artifact_store() -> BoxedStrategy<ArtifactStore> {
    (
        prop_oneof![Just("S3".to_owned()), tricky_string()],
        prop_oneof![valid_name(), tricky_string()],
        opt((
            tricky_string(),
            prop_oneof![Just("KMS".to_owned()), tricky_string()],
            extra(&["id", "type"]),
        )
            .prop_map(|(id, key_type, extra)| EncryptionKey {
                id,
                key_type,
                extra,
            })),
        extra(&["type", "location", "encryptionKey"]),
    )
        .prop_map(
            |(store_type, location, encryption_key, extra)| ArtifactStore {
                store_type,
                location,
                encryption_key,
                extra,
            },
        )
        .boxed()
}

fn include_exclude() -> BoxedStrategy<IncludeExclude> {
    (
        opt(prop::collection::vec(tricky_string(), 0..3)),
        opt(prop::collection::vec(tricky_string(), 0..3)),
        extra(&["includes", "excludes"]),
    )
        .prop_map(|(includes, excludes, extra)| IncludeExclude {
            includes,
            excludes,
            extra,
        })
        .boxed()
}

fn trigger() -> BoxedStrategy<TriggerDeclaration> {
    let push = (
        opt(include_exclude()),
        opt(include_exclude()),
        opt(include_exclude()),
        extra(&["tags", "branches", "filePaths"]),
    )
        .prop_map(|(tags, branches, file_paths, extra)| GitPushFilter {
            tags,
            branches,
            file_paths,
            extra,
        });
    let pull_request = (
        opt(prop::collection::vec(
            prop_oneof![
                select(&["OPEN", "UPDATED", "CLOSED"][..]).prop_map(str::to_owned),
                tricky_string()
            ],
            0..3,
        )),
        opt(include_exclude()),
        opt(include_exclude()),
        extra(&["events", "branches", "filePaths"]),
    )
        .prop_map(
            |(events, branches, file_paths, extra)| GitPullRequestFilter {
                events,
                branches,
                file_paths,
                extra,
            },
        );
    (
        prop_oneof![Just("CodeStarSourceConnection".to_owned()), tricky_string()],
        name(),
        opt(prop::collection::vec(push, 0..2)),
        opt(prop::collection::vec(pull_request, 0..2)),
        extra(&["sourceActionName", "push", "pullRequest"]),
        extra(&["providerType", "gitConfiguration"]),
    )
        .prop_map(
            |(provider_type, source_action_name, push, pull_request, git_extra, extra)| {
                TriggerDeclaration {
                    provider_type,
                    git_configuration: GitConfiguration {
                        source_action_name,
                        push,
                        pull_request,
                        extra: git_extra,
                    },
                    extra,
                }
            },
        )
        .boxed()
}

const PIPELINE_FIELDS: &[&str] = &[
    "name",
    "roleArn",
    "artifactStore",
    "artifactStores",
    "stages",
    "version",
    "executionMode",
    "pipelineType",
    "variables",
    "triggers",
];

/// A declaration with `stages` stages of `actions` actions each.
pub fn declaration(
    stages: std::ops::RangeInclusive<usize>,
    actions: std::ops::RangeInclusive<usize>,
) -> BoxedStrategy<PipelineDeclaration> {
    let variable = (
        identifier(),
        opt(value_string()),
        opt(tricky_string()),
        extra(&["name", "defaultValue", "description"]),
    )
        .prop_map(
            |(name, default_value, description, extra)| PipelineVariableDeclaration {
                name,
                default_value,
                description,
                extra,
            },
        );
    let head = (
        name(),
        opt(prop_oneof![
            Just("arn:aws:iam::123456789012:role/pipeline".to_owned()),
            Just(String::new()),
            tricky_string()
        ]),
        opt(artifact_store()),
        prop::option::weighted(
            0.15,
            prop::collection::vec((tricky_string(), artifact_store()), 0..3)
                .prop_map(|pairs| pairs.into_iter().collect::<IndexMap<_, _>>()),
        ),
        prop::collection::vec(stage(actions), stages),
    );
    let tail = (
        opt(any::<u32>()),
        opt(execution_mode()),
        opt(pipeline_type()),
        opt(prop::collection::vec(variable, 0..4)),
        opt(prop::collection::vec(trigger(), 0..2)),
        extra(PIPELINE_FIELDS),
    );
    (head, tail)
        .prop_map(
            |(
                (name, role_arn, artifact_store, artifact_stores, stages),
                (version, execution_mode, pipeline_type, variables, triggers, extra),
            )| PipelineDeclaration {
                name,
                role_arn,
                artifact_store,
                artifact_stores,
                stages,
                version,
                execution_mode,
                pipeline_type,
                variables,
                triggers,
                extra,
            },
        )
        .boxed()
}
