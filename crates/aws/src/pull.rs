//! An AWS pipeline made runnable here (`pipewright --aws pull NAME`). The declaration alone does
//! not run: its CodeBuild actions' buildspecs, images and variables live in their projects, and
//! an action with no local runner has no outputs for the actions after it. So a pull fetches,
//! besides the declaration, each CodeBuild action's project (BatchGetProjects; an S3 buildspec's
//! text too) and the output variables each action with no local runner reported in its latest
//! successful run (ListActionExecutions). Writing it out makes `DIR/NAME.json` (the declaration,
//! as `export` prints it), a file for each buildspec kept in a project, and the local plan in
//! `DIR/NAME.pipewright.yaml`, so `pipewright run DIR/NAME.json` asks nothing it need not.
//!
//! Two steps, so a front end can place the sources (`--source`, a folder chosen in the app)
//! against the declaration before anything is written: [`fetch`], then [`Fetched::write`].

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use pipewright_api::engine::local_plan::{
    self, BuildProject, BuildspecText, LocalPlan, Observed, PlanContext, ProjectBuildspec,
};
use pipewright_api::engine::objects::ObjectAddress;
use pipewright_api::engine::runners::runner_for;
use pipewright_api::engine::settings::LocalSettings;
use pipewright_api::engine::settings_file::{self, Entry};
use pipewright_api::model::{Format, PipelineDeclaration, PipelineDocument};
use pipewright_api::{Backend, Error, Pipewright, Result};

use crate::codebuild::{CodeBuildProjects, Project};
use crate::s3::S3Objects;
use crate::{AwsBackend, AwsConnection};

/// How far back ListActionExecutions is read for actions' latest outputs: five pages.
const OBSERVED_LIMIT: usize = 500;

/// What a pull brings from AWS, before anything is written.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub pipeline: PipelineDeclaration,
    /// Where it came from (`aws:PROFILE@REGION`), for the settings file's header.
    pub from: String,
    /// Each CodeBuild action's project, keyed `Stage/Action`.
    pub projects: IndexMap<String, FetchedProject>,
    /// Each action with no local runner: what it reported in its latest successful run.
    pub observed: IndexMap<String, Observed>,
    /// What could not be had, said instead of dropped.
    pub gaps: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct FetchedProject {
    pub project: Project,
    pub buildspec: FetchedBuildspec,
}

/// A project's buildspec as fetched: its text when it is kept in the project or in S3.
#[derive(Clone, Debug, PartialEq)]
pub enum FetchedBuildspec {
    Default,
    InSource(String),
    Text { text: String, from: String },
    Missing(String),
}

/// What a pull wrote.
#[derive(Clone, Debug)]
pub struct Written {
    pub pipeline_file: PathBuf,
    pub settings_file: PathBuf,
    /// Buildspec files, each with the `Stage/Action` and the project it is for.
    pub buildspecs: Vec<(String, String, PathBuf)>,
    pub plan: LocalPlan,
}

/// Reads the pipeline, its CodeBuild projects and its actions' latest outputs from AWS.
pub async fn fetch(
    backend: &AwsBackend,
    connection: &AwsConnection,
    name: &str,
) -> Result<Fetched> {
    let pipeline = backend.get_pipeline(name, None).await?.pipeline;
    let mut fetched = Fetched::new(pipeline, backend.name());
    fetch_projects(connection, &mut fetched).await;
    fetch_observed(backend, &mut fetched).await;
    Ok(fetched)
}

/// Every `Stage/Action` of the pipeline with its action.
fn actions(
    pipeline: &PipelineDeclaration,
) -> impl Iterator<Item = (String, &pipewright_api::model::Action)> {
    pipeline.stages.iter().flat_map(|stage| {
        stage
            .actions
            .iter()
            .map(move |action| (format!("{}/{}", stage.name, action.name), action))
    })
}

/// Each CodeBuild action's project, with its buildspec's text when the project keeps it inline
/// or in S3.
pub(crate) async fn fetch_projects(connection: &AwsConnection, fetched: &mut Fetched) {
    let wanted: Vec<(String, String)> = actions(&fetched.pipeline)
        .filter(|(_, action)| action.action_type_id.provider == "CodeBuild")
        .filter_map(|(key, action)| Some((key, action.config("ProjectName")?.to_owned())))
        .collect();
    if wanted.is_empty() {
        return;
    }
    let mut names: Vec<String> = wanted.iter().map(|(_, name)| name.clone()).collect();
    names.sort();
    names.dedup();
    let found = match CodeBuildProjects::connect(connection).await {
        Ok(projects) => projects.get(&names).await,
        Err(error) => Err(error),
    };
    let found = match found {
        Ok(found) => found,
        Err(error) => {
            fetched.gaps.push(format!(
                "the CodeBuild projects could not be read ({}: {}): builds run buildspec.yml from their input, on the settings' image or this machine",
                error.code, error.message
            ));
            return;
        }
    };
    let s3 = S3Objects::new();
    for (key, name) in wanted {
        let Some(project) = found.get(&name) else {
            fetched.gaps.push(format!(
                "{key}: CodeBuild project {name} was not found: the build runs buildspec.yml from its input"
            ));
            continue;
        };
        let buildspec = match local_plan::classify_buildspec(project.buildspec.as_deref()) {
            BuildspecText::Default => FetchedBuildspec::Default,
            BuildspecText::InSource(path) => FetchedBuildspec::InSource(path.to_owned()),
            BuildspecText::Inline(text) => FetchedBuildspec::Text {
                text: text.to_owned(),
                from: "inline".to_owned(),
            },
            BuildspecText::S3 { bucket, key } => {
                let address = ObjectAddress {
                    connection: connection.clone(),
                    bucket: bucket.to_owned(),
                    key: key.to_owned(),
                };
                match read_object(&s3, &address).await {
                    Ok(text) => FetchedBuildspec::Text {
                        text,
                        from: address.to_string(),
                    },
                    Err(error) => FetchedBuildspec::Missing(format!(
                        "{address}: {}: {}",
                        error.code, error.message
                    )),
                }
            }
        };
        fetched.projects.insert(
            key,
            FetchedProject {
                project: project.clone(),
                buildspec,
            },
        );
    }
}

/// An S3 object's text (a buildspec).
async fn read_object(s3: &S3Objects, address: &ObjectAddress) -> Result<String> {
    let io = |e: std::io::Error| Error::new("IoError", e.to_string());
    let file = tempfile::NamedTempFile::new().map_err(io)?;
    s3.get(address, file.path()).await?;
    std::fs::read_to_string(file.path()).map_err(io)
}

/// The latest successful run's output variables of each action that cannot run here.
async fn fetch_observed(backend: &AwsBackend, fetched: &mut Fetched) {
    let wanted: Vec<String> = actions(&fetched.pipeline)
        .filter(|(_, action)| runner_for(action, None).is_none())
        .map(|(key, _)| key)
        .collect();
    if wanted.is_empty() {
        return;
    }
    let details = backend
        .action_executions(&fetched.pipeline.name, None, OBSERVED_LIMIT)
        .await;
    let details = match details {
        Ok(details) => details,
        Err(error) => {
            fetched.gaps.push(format!(
                "the actions' latest outputs could not be read (ListActionExecutions: {}: {}): simulated actions report placeholders",
                error.code, error.message
            ));
            return;
        }
    };
    // Newest first, as AWS lists them: the first successful run of each action is its latest.
    for detail in details {
        let key = format!("{}/{}", detail.stage_name, detail.action_name);
        if detail.status == "Succeeded"
            && wanted.contains(&key)
            && !fetched.observed.contains_key(&key)
        {
            fetched.observed.insert(
                key,
                Observed {
                    run: format!("execution {} on AWS", detail.pipeline_execution_id),
                    variables: detail.output.output_variables,
                },
            );
        }
    }
}

impl Fetched {
    /// What opens a settings file a pull writes.
    fn header(&self) -> String {
        format!(
            "# Pipewright's local settings for {}, pulled from {}: how it runs on this machine.\n\
             # CodeBuild actions carry their projects' settings; simulated actions report what\n\
             # they reported in their latest run there. Change it as you like.",
            self.pipeline.name, self.from
        )
    }

    /// A pipeline with nothing fetched for it yet.
    pub(crate) fn new(pipeline: PipelineDeclaration, from: String) -> Fetched {
        Fetched {
            pipeline,
            from,
            projects: IndexMap::new(),
            observed: IndexMap::new(),
            gaps: Vec::new(),
        }
    }

    /// Writes the declaration, the buildspecs kept outside the source, and the local plan
    /// (worked out with `context`: where the sources are) into `dir`. A settings file already
    /// there is extended, keeping what it holds.
    pub fn write(&self, dir: &Path, mut context: PlanContext) -> Result<Written> {
        let io = |what: &Path, e: std::io::Error| {
            Error::new("IoError", format!("{}: {e}", what.display()))
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let dir = std::fs::canonicalize(dir).map_err(|e| io(dir, e))?;
        let name = &self.pipeline.name;
        let pipeline_file = dir.join(format!("{name}.json"));
        let mut document = PipelineDocument::from_declaration(self.pipeline.clone());
        // As `export` prints it: what create-pipeline takes back, the version being AWS's.
        document.pipeline.version = None;
        std::fs::write(&pipeline_file, document.to_text(Format::Json))
            .map_err(|e| io(&pipeline_file, e))?;

        let mut buildspecs = Vec::new();
        for (key, fetched) in &self.projects {
            let buildspec = match &fetched.buildspec {
                FetchedBuildspec::Default => ProjectBuildspec::Default,
                FetchedBuildspec::InSource(path) => ProjectBuildspec::InSource(path.clone()),
                FetchedBuildspec::Missing(why) => ProjectBuildspec::Missing(why.clone()),
                FetchedBuildspec::Text { text, from } => {
                    // `+` is in no stage or action name, so no two actions share a file.
                    let file = dir.join(format!("{name}.{}.buildspec.yml", key.replace('/', "+")));
                    std::fs::write(&file, text).map_err(|e| io(&file, e))?;
                    buildspecs.push((key.clone(), fetched.project.name.clone(), file.clone()));
                    ProjectBuildspec::File {
                        path: file,
                        from: from.clone(),
                    }
                }
            };
            context.projects.insert(
                key.clone(),
                BuildProject {
                    name: fetched.project.name.clone(),
                    buildspec,
                    image: fetched.project.image.clone(),
                    privileged: fetched.project.privileged,
                    environment_variables: fetched.project.environment_variables.clone(),
                },
            );
        }
        context.observed.extend(self.observed.clone());

        let settings_file = LocalSettings::file_for(&pipeline_file);
        let settings = match std::fs::read_to_string(&settings_file) {
            Ok(text) => LocalSettings::parse(&text, &settings_file.display().to_string(), &dir)
                .map_err(|e| Error::new("InvalidSettings", e.to_string()))?,
            Err(_) => LocalSettings::default(),
        };
        let plan = local_plan::propose(&self.pipeline, &settings, &context);
        settings_file::write_entries(&settings_file, &plan.entries(&dir), &self.header())
            .map_err(|e| Error::new("InvalidSettings", e.to_string()))?;
        Ok(Written {
            pipeline_file,
            settings_file,
            buildspecs,
            plan,
        })
    }
}

impl Written {
    /// Stores what was written as a local pipeline (a new version of it when it exists), with
    /// its settings: how the app runs a pulled pipeline or a replay, having no folder to run a
    /// file from.
    pub async fn import(&self, api: &Pipewright) -> Result<(String, i64)> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map_err(|e| Error::new("IoError", format!("{}: {e}", path.display())))
        };
        let text = read(&self.pipeline_file)?;
        let document = PipelineDocument::parse(&text, Format::Json)
            .map_err(|e| Error::new("InvalidStructureException", e.to_string()))?;
        let dir = self.settings_file.parent().unwrap_or(Path::new("."));
        let settings = LocalSettings::parse(
            &read(&self.settings_file)?,
            &self.settings_file.display().to_string(),
            dir,
        )
        .map_err(|e| Error::new("InvalidSettings", e.to_string()))?;
        api.import_if_changed(&document, Some(&settings)).await
    }
}

/// `Run locally` on an AWS pipeline in the app: pulled into the data directory's
/// `pulled/NAME` and stored as a local pipeline of the same name, whose sources the app's
/// settings form then places. Its local name.
pub async fn pull_into(
    api: &Pipewright,
    backend: &AwsBackend,
    connection: &AwsConnection,
    name: &str,
) -> Result<String> {
    let fetched = fetch(backend, connection, name).await?;
    let dir = api.data_dir().join("pulled").join(name);
    // What the app saved for the local pipeline (a source's folder, commands instead of a
    // simulation) goes into the settings file first, so pulling again keeps it.
    if let Ok((_, stored, _)) = api.pipeline_version(name, None).await {
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::new("IoError", format!("{}: {e}", dir.display())))?;
        let file = dir.join(format!("{name}.pipewright.yaml"));
        let entries: Vec<Entry> = stored
            .actions
            .iter()
            .map(|(key, settings)| Entry::new("actions", key, settings, &dir))
            .chain(
                stored
                    .rules
                    .iter()
                    .map(|(key, settings)| Entry::new("rules", key, settings, &dir)),
            )
            .collect();
        settings_file::write_entries(&file, &entries, &fetched.header())
            .map_err(|e| Error::new("InvalidSettings", e.to_string()))?;
    }
    let context = PlanContext {
        deploy_dir: api.data_dir().join("deploys").join(name),
        ..PlanContext::default()
    };
    let written = fetched.write(&dir, context)?;
    Ok(written.import(api).await?.0)
}
