//! The variables CodeBuild sets in every build it runs for a pipeline, as the local run sets
//! them: on this machine and in a container alike. The project's and the action's
//! `EnvironmentVariables` come after these, so a pipeline can override them as in CodeBuild.

/// The account local ARNs name, as the local engine's events do.
const LOCAL_ACCOUNT: &str = "000000000000";

/// What the variables are made from.
#[derive(Default)]
pub struct BuildVariables<'a> {
    pub pipeline: &'a str,
    /// The CodeBuild project (the action's ProjectName), when there is one.
    pub project: Option<&'a str>,
    pub execution_id: &'a str,
    pub action_execution_id: &'a str,
    /// When the build started, in milliseconds since the epoch (CodeBuild's unit).
    pub start_time_ms: i64,
    /// The action's region, else the settings' AWS region; builds get none when neither is set.
    pub region: Option<&'a str>,
    /// The project's build number: one more than its last build's here.
    pub build_number: Option<i64>,
    /// The primary input artifact as the local artifact store names it (AWS: its S3 object).
    pub source_version: Option<String>,
    /// The source revision the primary input came from (a commit id), when a source gave one.
    pub resolved_source_version: Option<String>,
}

impl BuildVariables<'_> {
    pub fn list(&self) -> Vec<(String, String)> {
        // CodeBuild's form is PROJECT:UUID; the action execution id is this run's UUID.
        let build_id = format!(
            "{}:{}",
            self.project.unwrap_or(self.pipeline),
            self.action_execution_id
        );
        let mut out = vec![
            (
                "CODEBUILD_BUILD_ARN".to_owned(),
                format!(
                    "arn:aws:codebuild:{}:{LOCAL_ACCOUNT}:build/{build_id}",
                    self.region.unwrap_or("local")
                ),
            ),
            ("CODEBUILD_BUILD_ID".to_owned(), build_id),
            ("CODEBUILD_CI".to_owned(), "true".to_owned()),
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
        for (name, value) in [
            (
                "CODEBUILD_BUILD_NUMBER",
                self.build_number.map(|n| n.to_string()),
            ),
            ("CODEBUILD_SOURCE_VERSION", self.source_version.clone()),
            (
                "CODEBUILD_RESOLVED_SOURCE_VERSION",
                self.resolved_source_version.clone(),
            ),
        ] {
            if let Some(value) = value {
                out.push((name.to_owned(), value));
            }
        }
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
            ..BuildVariables::default()
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

    #[test]
    fn a_project_s_build_has_its_number_id_and_source_versions() {
        let list = BuildVariables {
            pipeline: "web",
            project: Some("web-build"),
            execution_id: "e-1",
            action_execution_id: "a-1",
            region: Some("eu-west-1"),
            build_number: Some(7),
            source_version: Some("sha256:abc".to_owned()),
            resolved_source_version: Some("0a1b2c3".to_owned()),
            ..BuildVariables::default()
        }
        .list();
        let get = |name: &str| {
            list.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("CODEBUILD_BUILD_ID"), Some("web-build:a-1"));
        assert_eq!(
            get("CODEBUILD_BUILD_ARN"),
            Some("arn:aws:codebuild:eu-west-1:000000000000:build/web-build:a-1")
        );
        assert_eq!(get("CODEBUILD_BUILD_NUMBER"), Some("7"));
        assert_eq!(get("CODEBUILD_RESOLVED_SOURCE_VERSION"), Some("0a1b2c3"));
        assert_eq!(get("CODEBUILD_SOURCE_VERSION"), Some("sha256:abc"));
    }
}
