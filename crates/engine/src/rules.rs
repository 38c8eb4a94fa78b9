//! Stage-condition rules, evaluated locally: `VariableCheck` compares a resolved variable,
//! `Commands` runs its commands like a Commands action (exit 0 passes). Rules that need AWS
//! (`CloudWatchAlarm`, `LambdaInvoke`, `DeploymentWindow`) have no local evaluator: the local
//! settings map them to commands or to a simulated outcome, and validation says so.

use pipewright_model::RuleDeclaration;

use crate::settings::RuleSettings;

/// How a rule is evaluated here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    VariableCheck,
    Commands,
    /// The local settings run these commands instead.
    MappedCommands,
    /// The local settings give the outcome; nothing is evaluated.
    Simulated {
        passes: bool,
    },
}

pub fn rule_kind(rule: &RuleDeclaration, settings: Option<&RuleSettings>) -> Option<RuleKind> {
    if let Some(outcome) = settings.and_then(|s| s.outcome) {
        return Some(RuleKind::Simulated {
            passes: outcome == crate::settings::SimulatedOutcome::Succeeded,
        });
    }
    if settings.is_some_and(|s| s.commands.is_some()) {
        return Some(RuleKind::MappedCommands);
    }
    match rule.rule_type_id.provider.as_str() {
        "VariableCheck" => Some(RuleKind::VariableCheck),
        "Commands" => Some(RuleKind::Commands),
        _ => None,
    }
}

/// The operators a VariableCheck rule takes.
pub const VARIABLE_CHECK_OPERATORS: &[&str] = &["EQ", "NE", "CONTAINS", "MATCHES"];

/// Evaluates a VariableCheck rule whose `Variable` is already resolved. Returns whether it
/// passes and a summary a person understands.
pub fn variable_check(
    variable: &str,
    operator: &str,
    value: &str,
) -> Result<(bool, String), String> {
    let passes = match operator {
        "EQ" => variable == value,
        "NE" => variable != value,
        "CONTAINS" => variable.contains(value),
        // Java's Pattern.matches, which CodePipeline uses, matches the whole value.
        "MATCHES" => regex_lite::Regex::new(&format!("^(?:{value})$"))
            .map_err(|e| format!("the regular expression '{value}' is not valid: {e}"))?
            .is_match(variable),
        other => {
            return Err(format!(
                "'{other}' is not a VariableCheck operator (use {})",
                VARIABLE_CHECK_OPERATORS.join(", ")
            ));
        }
    };
    let verdict = if passes { "passes" } else { "fails" };
    Ok((
        passes,
        format!("'{variable}' {operator} '{value}' {verdict}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_check_operators() {
        assert!(variable_check("main", "EQ", "main").expect("ok").0);
        assert!(!variable_check("main", "NE", "main").expect("ok").0);
        assert!(
            variable_check("fix: update deps", "CONTAINS", "update")
                .expect("ok")
                .0
        );
        assert!(
            variable_check("release-1.4", "MATCHES", r"release-\d+\.\d+")
                .expect("ok")
                .0
        );
        assert!(
            !variable_check("my-release-1.4", "MATCHES", r"release-\d+\.\d+")
                .expect("ok")
                .0,
            "whole value"
        );
        assert!(variable_check("x", "GT", "y").is_err());
        assert!(variable_check("x", "MATCHES", "(").is_err());
    }
}
