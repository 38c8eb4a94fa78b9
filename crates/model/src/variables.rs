//! Variable references: `#{variables.name}` (pipeline level), `#{Namespace.Name}` (an action's
//! output) and `#{codepipeline.PipelineExecutionId}`. Finding and substituting them is pure; what a
//! name resolves to is the caller's business.

/// The namespace of pipeline-level variables.
pub const PIPELINE_NAMESPACE: &str = "variables";
/// The namespace CodePipeline reserves for its own values.
pub const CODEPIPELINE_NAMESPACE: &str = "codepipeline";
/// The reserved variables CodePipeline defines.
pub const CODEPIPELINE_VARIABLES: &[&str] = &["PipelineExecutionId"];

/// One `#{namespace.name}` in a text, with its byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub start: usize,
    pub end: usize,
}

impl Reference<'_> {
    /// As written, `#{namespace.name}`.
    pub fn text(&self) -> String {
        format!("#{{{}.{}}}", self.namespace, self.name)
    }
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '@' | '-' | '_')
}

/// Every well-formed reference in `text`, in order. `#{` that does not open a well-formed reference
/// is ordinary text, as on AWS.
pub fn references(text: &str) -> Vec<Reference<'_>> {
    let mut found = Vec::new();
    let mut search_from = 0;
    while let Some(offset) = text[search_from..].find("#{") {
        let start = search_from + offset;
        let body_start = start + 2;
        let Some(close) = text[body_start..].find('}') else {
            break;
        };
        let body = &text[body_start..body_start + close];
        let parsed = body.split_once('.').filter(|(namespace, name)| {
            !namespace.is_empty()
                && !name.is_empty()
                && namespace.chars().all(is_name_char)
                && name.chars().all(is_name_char)
        });
        match parsed {
            Some((namespace, name)) => {
                let end = body_start + close + 1;
                found.push(Reference {
                    namespace,
                    name,
                    start,
                    end,
                });
                search_from = end;
            }
            None => search_from = body_start,
        }
    }
    found
}

/// Replaces every reference by what `lookup` gives for it. Fails with the first reference
/// `lookup` does not know, so an action can say which one it could not resolve.
pub fn substitute<'t>(
    text: &'t str,
    mut lookup: impl FnMut(&str, &str) -> Option<String>,
) -> Result<String, Reference<'t>> {
    let mut out = String::with_capacity(text.len());
    let mut copied_to = 0;
    for reference in references(text) {
        let value = lookup(reference.namespace, reference.name).ok_or(reference.clone())?;
        out.push_str(&text[copied_to..reference.start]);
        out.push_str(&value);
        copied_to = reference.end;
    }
    out.push_str(&text[copied_to..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_three_kinds_and_ignores_malformed_ones() {
        let text = "deploy #{variables.env} at #{Build.Tag} for #{codepipeline.PipelineExecutionId} #{nodot} #{a b.c}";
        let found: Vec<_> = references(text)
            .iter()
            .map(|r| (r.namespace, r.name))
            .collect();
        assert_eq!(
            found,
            [
                ("variables", "env"),
                ("Build", "Tag"),
                ("codepipeline", "PipelineExecutionId")
            ]
        );
    }

    #[test]
    fn substitutes_and_names_the_missing_reference() {
        let lookup =
            |ns: &str, name: &str| (ns == "variables" && name == "env").then(|| "prod".to_owned());
        assert_eq!(
            substitute("to #{variables.env}!", lookup),
            Ok("to prod!".to_owned())
        );
        let missing = substitute("#{variables.env} #{Build.Tag}", lookup).expect_err("missing");
        assert_eq!(missing.text(), "#{Build.Tag}");
    }

    #[test]
    fn substituted_values_are_not_expanded_again() {
        let lookup = |_: &str, _: &str| Some("#{variables.x}".to_owned());
        assert_eq!(
            substitute("#{variables.x}", lookup),
            Ok("#{variables.x}".to_owned())
        );
    }
}
