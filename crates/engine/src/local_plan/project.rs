//! What a pulled pipeline's CodeBuild projects bring to its local plan: the project's buildspec
//! (told apart as CodeBuild tells them), its image (CodeBuild's own images under their public
//! names), privileged mode and environment variables, and the notes on what the user must give.

use std::path::PathBuf;

use indexmap::IndexMap;

use crate::settings::{ActionSettings, ProjectVariable, StoredReference};
use crate::stored_values::{Store, StoredValues};

/// A CodeBuild project as a CodeBuild action of CodePipeline runs it (BatchGetProjects): what
/// the local run needs of it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BuildProject {
    pub name: String,
    pub buildspec: ProjectBuildspec,
    /// The image as the project names it.
    pub image: Option<String>,
    pub privileged: bool,
    pub environment_variables: IndexMap<String, ProjectVariable>,
}

/// Where a project's buildspec is, once the front end has fetched what it could.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ProjectBuildspec {
    /// The project names none: `buildspec.yml` at the top of the primary source.
    #[default]
    Default,
    /// A path in the primary source.
    InSource(String),
    /// Inline in the project (or an S3 object), written to this file; `from` says which.
    File { path: PathBuf, from: String },
    /// It could not be had, and why.
    Missing(String),
}

/// What a project's `source.buildspec` holds, told apart as CodeBuild tells them: an S3 object's
/// ARN, a buildspec written inline, or a path relative to the primary source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildspecText<'a> {
    Default,
    Inline(&'a str),
    InSource(&'a str),
    S3 { bucket: &'a str, key: &'a str },
}

pub fn classify_buildspec(text: Option<&str>) -> BuildspecText<'_> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return BuildspecText::Default;
    };
    // arn:PARTITION:s3:::BUCKET/KEY, in any partition (aws, aws-cn, aws-us-gov).
    if let Some(rest) = text.trim().strip_prefix("arn:")
        && let Some((_, object)) = rest.split_once(":s3:::")
        && let Some((bucket, key)) = object.split_once('/')
    {
        return BuildspecText::S3 { bucket, key };
    }
    // A path is one line and has no `key: value` in it; anything else is YAML.
    if text.contains('\n') || text.contains(": ") || text.trim_start().starts_with('{') {
        BuildspecText::Inline(text)
    } else {
        BuildspecText::InSource(text.trim())
    }
}

/// The output variables an action reported in a run elsewhere.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    /// Which run: `execution ID on AWS`.
    pub run: String,
    pub variables: IndexMap<String, String>,
}

/// The image to run a CodeBuild project's image as here, and a note when it is not the name the
/// project gives. CodeBuild's own images (`aws/codebuild/...`) are published on Amazon ECR
/// Public under `public.ecr.aws/codebuild/...`; an image in a private ECR registry needs a login.
pub fn local_image(image: &str) -> (String, Option<String>) {
    if let Some(own) = image.strip_prefix("aws/codebuild/") {
        let public = format!("public.ecr.aws/codebuild/{own}");
        let note =
            format!("CodeBuild's image {image} runs here as {public}, where AWS publishes it");
        return (public, Some(note));
    }
    let registry = image.split('/').next().unwrap_or_default();
    if registry.contains(".dkr.ecr.") {
        let note = format!(
            "{image} is in a private ECR registry: log in to it first (aws ecr get-login-password | podman login --username AWS --password-stdin {registry})"
        );
        return (image.to_owned(), Some(note));
    }
    (image.to_owned(), None)
}

/// A CodeBuild action's settings with what its project says, and notes on what the user must
/// know or give (stored values the settings lack, an image run under another name).
pub(super) fn with_project(
    key: &str,
    base: ActionSettings,
    project: &BuildProject,
    stored: &StoredValues,
    // The settings read what they do not give from AWS.
    from_aws: bool,
) -> (ActionSettings, Vec<String>) {
    let mut notes = Vec::new();
    let mut settings = base;
    match &project.buildspec {
        ProjectBuildspec::Default => {
            settings.buildspec = None;
            settings.source_buildspec = None;
        }
        ProjectBuildspec::InSource(path) => {
            settings.buildspec = None;
            settings.source_buildspec = Some(path.clone());
        }
        ProjectBuildspec::File { path, .. } => {
            settings.buildspec = Some(path.clone());
            settings.source_buildspec = None;
        }
        ProjectBuildspec::Missing(why) => notes.push(format!(
            "{key}: the buildspec of project {} could not be had ({why}); the build reads \
             buildspec.yml from its primary input unless the settings name another",
            project.name
        )),
    }
    if let Some(image) = &project.image {
        let (local, note) = local_image(image);
        settings.image = Some(local);
        notes.extend(note.map(|note| format!("{key}: {note}")));
    }
    settings.privileged = project.privileged.then_some(true);
    settings.environment_variables = project.environment_variables.clone();
    for (name, variable) in &project.environment_variables {
        let ProjectVariable::Stored(reference) = variable else {
            continue;
        };
        let (store, reference, section) = match reference {
            StoredReference::ParameterStore(r) => (Store::ParameterStore, r, "parameterStore"),
            StoredReference::SecretsManager(r) => (Store::SecretsManager, r, "secretsManager"),
        };
        if !from_aws && !stored.gives(store, reference) {
            notes.push(format!(
                "{key}: {name} reads {} {reference}: give its value under {section}: in the \
                 settings (or set storedValuesFromAws: true to read it from AWS), or the build \
                 runs without it",
                store.as_str()
            ));
        }
    }
    (settings, notes)
}
