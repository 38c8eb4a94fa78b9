//! The variables CodeBuild sets in every build it runs for a pipeline, as the local run sets
//! them: on this machine and in a container alike. The project's and the action's
//! `EnvironmentVariables` come after these, so a pipeline can override them as in CodeBuild.

/// What the variables are made from.
pub struct BuildVariables<'a> {
    pub pipeline: &'a str,
    pub execution_id: &'a str,
    pub action_execution_id: &'a str,
    /// When the build started, in milliseconds since the epoch (CodeBuild's unit).
    pub start_time_ms: i64,
    /// The action's region, else the settings' AWS region; builds get none when neither is set.
    pub region: Option<&'a str>,
}

impl BuildVariables<'_> {
    pub fn list(&self) -> Vec<(String, String)> {
        let mut out = vec![
            // CodeBuild's form is PROJECT:UUID; the action execution id is this run's UUID.
            (
                "CODEBUILD_BUILD_ID".to_owned(),
                format!("{}:{}", self.pipeline, self.action_execution_id),
            ),
            (
                "CODEBUILD_INITIATOR".to_owned(),
                format!("codepipeline/{}", self.pipeline),
            ),
            (
                "CODEPIPELINE_EXECUTION_ID".to_owned(),
                self.execution_id.to_owned(),
            ),
            (
                "CODEBUILD_START_TIME".to_owned(),
                self.start_time_ms.to_string(),
            ),
        ];
        if let Some(region) = self.region {
            out.push(("AWS_REGION".to_owned(), region.to_owned()));
            out.push(("AWS_DEFAULT_REGION".to_owned(), region.to_owned()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(variables: &BuildVariables<'_>) -> Vec<String> {
        variables.list().into_iter().map(|(name, _)| name).collect()
    }

    #[test]
    fn the_region_is_set_only_when_known() {
        let mut variables = BuildVariables {
            pipeline: "web",
            execution_id: "e-1",
            action_execution_id: "a-1",
            start_time_ms: 1_700_000_000_000,
            region: None,
        };
        assert!(!names(&variables).contains(&"AWS_REGION".to_owned()));
        variables.region = Some("eu-west-1");
        let list = variables.list();
        assert!(list.contains(&("AWS_REGION".to_owned(), "eu-west-1".to_owned())));
        assert!(list.contains(&("AWS_DEFAULT_REGION".to_owned(), "eu-west-1".to_owned())));
        assert!(list.contains(&("CODEBUILD_BUILD_ID".to_owned(), "web:a-1".to_owned())));
        assert!(list.contains(&(
            "CODEBUILD_START_TIME".to_owned(),
            "1700000000000".to_owned()
        )));
    }
}
