//! `pipewright`: the command line. Argument parsing and terminal output only; every rule lives
//! behind the `api` facade.

mod broken_pipe;
mod events;
mod follow;
mod live;
mod local_plan;
mod logs;
mod on_events;
mod output;
mod pull;
mod replay;
mod reports;
mod run;
mod s3_artifacts;
mod watch;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use indexmap::IndexMap;
use pipewright_api::model::{Format, PipelineDocument};
use pipewright_api::{Backend, Pipewright, engine::settings::LocalSettings};

use crate::output::{confirm, print_json, style};

#[derive(Parser, Debug)]
#[command(
    name = "pipewright",
    version,
    about = "Design, run and watch CodePipeline pipelines on this machine"
)]
struct Cli {
    /// Where pipelines, executions, logs and artifacts are kept.
    #[arg(long, global = true, env = "PIPEWRIGHT_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// How many actions this process runs at once, over all its executions (approvals waiting
    /// for a person do not count) [default: the number of cores]
    #[arg(long, global = true, env = "PIPEWRIGHT_MAX_PARALLEL", value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..))]
    max_parallel: Option<u16>,
    /// Work on AWS CodePipeline (the standard AWS configuration: profiles, SSO, the environment)
    /// instead of the local engine.
    #[arg(long, global = true)]
    aws: bool,
    /// Work on an AWS connection kept in the app's Settings, by its name (`aws:PROFILE@REGION`),
    /// instead of giving --aws with --profile, --region and --endpoint-url.
    #[arg(long, global = true, value_name = "NAME", conflicts_with_all = ["profile", "region", "endpoint_url"])]
    connection: Option<String>,
    /// With --aws or `artifacts --to-s3`: a profile of ~/.aws/config.
    #[arg(long, global = true)]
    profile: Option<String>,
    /// With --aws or `artifacts --to-s3`: the region (default: the profile's, or AWS_REGION).
    #[arg(long, global = true)]
    region: Option<String>,
    /// With --aws or `artifacts --to-s3`: another endpoint than AWS's, such as a
    /// `pipewright serve`.
    #[arg(long, global = true, value_name = "URL")]
    endpoint_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

const ON_EVENTS_HELP: &str = "Run local rules on events: for each event that matches a rule's EventBridge event pattern, run the rule's command (sh -c, the event as JSON on stdin and in PIPEWRIGHT_EVENT) or post the event to its webhook.

The rules file, JSON or YAML:

  rules:
    - name: tell-the-channel
      pattern: {detail-type: [CodePipeline Pipeline Execution State Change], detail: {state: [FAILED]}}
      webhook: https://hooks.example.com/pipelines
    - name: page-me
      pattern: {detail: {pipeline: [{prefix: prod-}], state: [FAILED]}}
      command: notify-send 'Pipeline failed'

Patterns match as on EventBridge: values, and the matchers prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric and exists.";

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a pipeline file; exits 1 when it has errors.
    Validate {
        /// The pipeline file: JSON or YAML, bare or as get-pipeline / create-pipeline use it.
        file: PathBuf,
        /// Local settings file (default: FILE's .pipewright.yaml beside it).
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// Register a pipeline, or a new version of it; prints its name and version.
    Import {
        /// The pipeline file: JSON or YAML, bare or as get-pipeline / create-pipeline use it.
        file: PathBuf,
        /// Local settings file (default: FILE's .pipewright.yaml beside it).
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// Print a stored pipeline as CodePipeline JSON (or YAML).
    Export {
        /// The pipeline's name.
        name: String,
        /// JSON or YAML.
        #[arg(long, value_enum, default_value = "json")]
        format: OutputFormat,
        /// This version of the pipeline (default: the latest).
        #[arg(long)]
        version: Option<i64>,
        /// Print `{pipeline, metadata}` as `aws codepipeline get-pipeline` does.
        #[arg(long)]
        metadata: bool,
    },
    /// List pipelines with their latest execution.
    Pipelines {
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// Run a pipeline (a file, imported first, or a stored name) and follow the execution.
    Run {
        /// A pipeline file (JSON or YAML, in any of the three shapes), or a stored pipeline's name.
        pipeline: String,
        /// Override a pipeline variable for this execution.
        #[arg(long = "var", value_name = "NAME=VALUE")]
        vars: Vec<String>,
        /// Local settings file (default: FILE's .pipewright.yaml beside it).
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Print the execution's events as JSON lines.
        #[arg(long)]
        json: bool,
        /// Run every action on this machine, whatever images the local settings give.
        #[arg(long)]
        host: bool,
        /// Accept the local plan (for actions the settings do not map) without asking.
        #[arg(long, short = 'y')]
        yes: bool,
        /// In the local plan, read this source action from PATH (a git repository's working
        /// copy, or a folder).
        #[arg(long = "source", value_name = "STAGE/ACTION=PATH")]
        sources: Vec<String>,
    },
    /// Work out the local plan of a pipeline file (how actions the settings do not map run
    /// here) and save it into its settings file, without running.
    Prepare {
        /// The pipeline file.
        file: PathBuf,
        /// Local settings file (default: FILE's .pipewright.yaml beside it).
        #[arg(long)]
        settings: Option<PathBuf>,
        /// Read this source action from PATH (a git repository's working copy, or a folder).
        #[arg(long = "source", value_name = "STAGE/ACTION=PATH")]
        sources: Vec<String>,
    },
    /// Pull a pipeline from AWS (with --aws) into DIR to run it here: DIR/NAME.json (the
    /// declaration), the buildspecs its CodeBuild projects keep, and DIR/NAME.pipewright.yaml,
    /// the local plan (each CodeBuild project's buildspec, image and variables; what each action
    /// that cannot run here reported in its latest run on AWS).
    Pull {
        /// The pipeline's name on AWS.
        name: String,
        /// Where to write the files.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Read this source action from PATH (a git repository's working copy, or a folder);
        /// the first source reads the repository you are in.
        #[arg(long = "source", value_name = "STAGE/ACTION=PATH")]
        sources: Vec<String>,
    },
    /// Replay one action of an AWS execution here (with --aws), most of all a failed one: its
    /// input artifacts downloaded from the artifact store, its configuration as resolved there,
    /// its CodeBuild project's buildspec, image and variables; it then runs alone, followed as
    /// `run` follows it.
    Replay {
        /// The pipeline's name on AWS.
        name: String,
        /// The action, as STAGE/ACTION.
        action: String,
        /// The execution whose run of the action to replay (default: the action's newest run).
        #[arg(long)]
        execution: Option<String>,
        /// Where to write the replay (default: the data directory's replays/NAME/STAGE-ACTION).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Build on this machine, whatever image the project names.
        #[arg(long)]
        host: bool,
        /// Print the execution's events as JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Local triggers: watch the repositories the pipelines' sources read and start an
    /// execution when a commit or tag appears that the pipeline's trigger filters accept (a V2
    /// pipeline's branches, tags and file paths), or any commit of the source's branch (no
    /// triggers), with that commit as the source's revision. Runs until Ctrl-C.
    Watch {
        /// Only these pipelines (default: every stored pipeline).
        names: Vec<String>,
        /// Seconds between two looks.
        #[arg(long, default_value_t = 2.0, value_parser = positive_seconds)]
        interval: f64,
    },
    /// The state of every stage and action (GetPipelineState).
    State {
        /// The pipeline's name.
        name: String,
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// Executions of a pipeline, newest first (ListPipelineExecutions).
    Executions {
        /// The pipeline's name.
        name: String,
        /// At most this many executions.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// Action executions (ListActionExecutions).
    Actions {
        /// The pipeline's name.
        name: String,
        /// The execution (default: the newest).
        #[arg(long)]
        execution: Option<String>,
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// Test and coverage reports of an execution's builds (their buildspecs' `reports:`).
    Reports {
        /// The pipeline's name.
        name: String,
        /// The execution (default: the newest).
        #[arg(long)]
        execution: Option<String>,
        /// Print the reports as JSON, as CodeBuild shapes reports, test cases and coverage.
        #[arg(long)]
        json: bool,
    },
    /// Logs of an execution's actions.
    Logs {
        /// The pipeline's name.
        name: String,
        /// The execution (default: the newest).
        #[arg(long)]
        execution: Option<String>,
        /// Only this action, as STAGE/ACTION.
        #[arg(long)]
        action: Option<String>,
        /// Keep printing until the actions end.
        #[arg(long)]
        follow: bool,
        /// One JSON object per line: stage, action, actionExecutionId, seq, time, stream, line.
        #[arg(long)]
        json: bool,
    },
    /// Approve a waiting manual approval.
    Approve {
        /// The pipeline's name.
        name: String,
        /// The stage's name.
        stage: String,
        /// The approval action's name.
        action: String,
        /// The execution whose approval this is (default: the newest, as GetPipelineState shows
        /// it); in PARALLEL mode several executions can wait at one approval. With --aws only
        /// the newest one's approval is seen, as GetPipelineState shows no other.
        #[arg(long)]
        execution: Option<String>,
        /// A comment kept with the decision and shown to others.
        #[arg(long, default_value = "")]
        summary: String,
    },
    /// Reject a waiting manual approval.
    Reject {
        /// The pipeline's name.
        name: String,
        /// The stage's name.
        stage: String,
        /// The approval action's name.
        action: String,
        /// The execution whose approval this is (default: the newest, as GetPipelineState shows
        /// it); in PARALLEL mode several executions can wait at one approval. With --aws only
        /// the newest one's approval is seen, as GetPipelineState shows no other.
        #[arg(long)]
        execution: Option<String>,
        /// Why, kept with the decision and shown to others.
        #[arg(long, default_value = "")]
        summary: String,
    },
    /// Approvals waiting anywhere.
    Approvals {
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// Stop an execution (the latest by default): wait for running actions, or abandon them.
    Stop {
        /// The pipeline's name.
        name: String,
        /// The execution (default: the newest).
        #[arg(long)]
        execution: Option<String>,
        /// Abandon the running actions (their processes are killed) instead of waiting for them.
        #[arg(long)]
        abandon: bool,
        /// Why, kept with the execution (its stopTrigger).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Retry a failed or stopped stage and follow the resumed execution.
    Retry {
        /// The pipeline's name.
        name: String,
        /// The stage's name.
        stage: String,
        /// The execution (default: the newest).
        #[arg(long)]
        execution: Option<String>,
        /// Run every action of the stage again, not only the failed ones.
        #[arg(long)]
        all: bool,
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// Run a stage again with the artifacts of an earlier execution (RollbackStage), and follow it.
    Rollback {
        /// The pipeline's name.
        name: String,
        /// The stage's name.
        stage: String,
        /// The execution whose artifacts to use (default: the newest in which the stage succeeded).
        #[arg(long)]
        target: Option<String>,
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// Enable or disable the inbound transition of a stage.
    Transition {
        /// The pipeline's name.
        name: String,
        /// The stage's name.
        stage: String,
        #[arg(value_enum)]
        state: TransitionState,
        /// Why (needed to disable): shown to whoever finds executions waiting there.
        #[arg(long)]
        reason: Option<String>,
    },
    /// State-change events (EventBridge-shaped), oldest first; --follow keeps printing new ones.
    Events {
        /// Only this pipeline's events.
        name: Option<String>,
        /// Only this execution's events.
        #[arg(long)]
        execution: Option<String>,
        /// Start after this event number (see --json output); default: the beginning.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// Keep printing new events until Ctrl-C.
        #[arg(long)]
        follow: bool,
        /// Print each event as one JSON line, as EventBridge delivers it.
        #[arg(long)]
        json: bool,
    },
    /// The artifacts of an execution (the latest by default); --export writes one as the zip
    /// CodePipeline keeps in S3, --to-s3 uploads them to an S3 artifact store. With --aws: where
    /// the execution's artifacts are in its artifact store, and --export downloads one.
    Artifacts {
        /// The pipeline's name.
        name: String,
        /// The execution (default: the newest).
        #[arg(long)]
        execution: Option<String>,
        /// The artifact to export (with --to-s3: the only one to upload).
        #[arg(long)]
        export: Option<String>,
        /// Where to write the exported zip.
        #[arg(long, requires = "export", conflicts_with = "to_s3")]
        output: Option<PathBuf>,
        /// Upload to this S3 bucket in CodePipeline's layout (PIPELINE/ARTIFACT/KEY zip objects);
        /// without a value, to the pipeline's own artifact store.
        #[arg(long, value_name = "BUCKET", num_args = 0..=1, default_missing_value = "")]
        to_s3: Option<String>,
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// The audit log: every change made through Pipewright.
    History {
        /// Only this pipeline.
        name: Option<String>,
        /// At most this many entries, newest first.
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// Remove old executions and the artifacts nothing references.
    Gc {
        /// Executions to keep per pipeline.
        #[arg(long, default_value_t = 20)]
        keep: i64,
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// What pushing FILE would change where the pipeline is deployed: on AWS with --aws, else the
    /// stored local pipeline. Exits 0 when nothing would change, 2 when something would.
    Plan {
        /// The pipeline file: JSON or YAML, bare or as get-pipeline / create-pipeline use it.
        file: PathBuf,
        /// Print the result as JSON, in the AWS CodePipeline response shape.
        #[arg(long)]
        json: bool,
    },
    /// Push FILE where the pipeline is deployed (CreatePipeline or UpdatePipeline), after showing
    /// its plan. Asks first, unless --yes.
    Push {
        /// The pipeline file: JSON or YAML, bare or as get-pipeline / create-pipeline use it
        /// (create-pipeline's tags go with it when the push creates the pipeline).
        file: PathBuf,
        /// Push without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Run local rules on events: a command or a webhook for each event that matches a rule's
    /// EventBridge event pattern (the rules file: see `pipewright on-events --help`).
    #[command(long_about = ON_EVENTS_HELP)]
    OnEvents {
        /// The rules file (JSON or YAML).
        rules: PathBuf,
        /// Start after this event number; default: the events from now on with --follow, else all.
        #[arg(long)]
        after: Option<i64>,
        /// Keep matching new events until Ctrl-C.
        #[arg(long)]
        follow: bool,
    },
    /// Forward this machine's events to an EventBridge event bus on AWS (needs --aws): the
    /// detail-type and detail as CodePipeline sends them, under a source of your own.
    ForwardEvents {
        /// Only this pipeline's events.
        name: Option<String>,
        /// The event bus's name or ARN.
        #[arg(long, default_value = "default")]
        event_bus: String,
        /// The events' source (AWS keeps `aws.*` for itself).
        #[arg(long, default_value = pipewright_aws::forward::DEFAULT_SOURCE)]
        source: String,
        /// Start after this event number; default: the beginning.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// Keep forwarding new events until Ctrl-C.
        #[arg(long)]
        follow: bool,
    },
    /// Answer the CodePipeline API over HTTP, so the AWS CLI and SDKs drive the local engine
    /// (`aws codepipeline --endpoint-url http://127.0.0.1:PORT ...`). Runs until Ctrl-C.
    Serve {
        /// The port to listen on (0: any free one, printed at start).
        #[arg(long, default_value_t = 8677)]
        port: u16,
        /// The address to listen on. Anything but loopback needs credentials.
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
        /// With --secret-access-key: accept only requests signed (SigV4) with this key pair.
        #[arg(
            long,
            env = "PIPEWRIGHT_SERVE_ACCESS_KEY_ID",
            requires = "secret_access_key"
        )]
        access_key_id: Option<String>,
        #[arg(
            long,
            env = "PIPEWRIGHT_SERVE_SECRET_ACCESS_KEY",
            requires = "access_key_id",
            hide_env_values = true
        )]
        /// The secret of --access-key-id.
        secret_access_key: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum OutputFormat {
    Json,
    Yaml,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TransitionState {
    Enable,
    Disable,
}

fn main() -> ExitCode {
    broken_pipe::end_quietly_when_the_reader_goes();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("pipewright: cannot start: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(error) => {
            // `{:#}` writes the whole chain: "context: cause: cause".
            anstream::eprintln!(
                "{}pipewright: {error:#}{}",
                style::ERROR.render(),
                style::ERROR.render_reset()
            );
            ExitCode::FAILURE
        }
    }
}

fn data_dir(cli: &Cli) -> PathBuf {
    cli.data_dir
        .clone()
        .unwrap_or_else(pipewright_api::default_data_dir)
}

/// A pipeline file and its local settings, read and parsed.
fn load(file: &Path, settings: Option<&Path>) -> Result<(PipelineDocument, Option<LocalSettings>)> {
    Ok((load_document(file)?, load_settings(file, settings)?))
}

/// The pipeline file, read and parsed.
fn load_document(file: &Path) -> Result<PipelineDocument> {
    let text = read_text(file)?;
    let name = file.display().to_string();
    // The LoadError stays in the chain, so `validate --json` can report its line and column.
    PipelineDocument::parse(&text, Format::guess(&name, &text))
        .map_err(|e| anyhow::Error::new(e).context(name))
}

/// The local settings: `settings`, or the file beside the pipeline file, if any.
fn load_settings(file: &Path, settings: Option<&Path>) -> Result<Option<LocalSettings>> {
    let Some(path) = settings
        .map(Path::to_path_buf)
        .or_else(|| LocalSettings::beside(file))
    else {
        return Ok(None);
    };
    let text = read_text(&path)?;
    // A bare file name has an empty parent, which canonicalize refuses: use ".", so the stored
    // paths are absolute and work from any directory.
    let base = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = std::fs::canonicalize(&base).unwrap_or(base);
    Ok(Some(LocalSettings::parse(
        &text,
        &path.display().to_string(),
        &base,
    )?))
}

/// A file the user names, read whole as text: at most `MAX_DOCUMENT_BYTES` of it, so that a huge
/// file or a device (`/dev/zero`) is refused instead of filling memory.
fn read_text(file: &Path) -> Result<String> {
    use std::io::Read as _;
    let limit = pipewright_api::model::MAX_DOCUMENT_BYTES;
    let opened =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut bytes = Vec::new();
    opened
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", file.display()))?;
    if bytes.len() > limit {
        bail!(
            "{}: the file is larger than {} MiB, more than any pipeline, settings or rules file",
            file.display(),
            limit / (1024 * 1024)
        );
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{}: the file is not UTF-8 text (invalid byte at offset {})",
            file.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// The AWS connection: the one kept under `--connection NAME`, or the one `--profile`, `--region`
/// and `--endpoint-url` describe.
async fn connection(cli: &Cli) -> Result<pipewright_aws::AwsConnection> {
    match &cli.connection {
        Some(name) => Ok(pipewright_aws::saved::find(&data_dir(cli), name).await?.0),
        None => Ok(pipewright_aws::AwsConnection {
            profile: cli.profile.clone(),
            region: cli.region.clone(),
            endpoint_url: cli.endpoint_url.clone(),
        }),
    }
}

/// Whether the command works on AWS rather than on the local engine.
fn on_aws(cli: &Cli) -> bool {
    cli.aws || cli.connection.is_some()
}

async fn open(cli: &Cli) -> Result<Pipewright> {
    let options = pipewright_api::engine::EngineOptions {
        objects: Some(std::sync::Arc::new(pipewright_aws::s3::S3Objects::new())),
        remote_values: Some(std::sync::Arc::new(
            pipewright_aws::stored_values::AwsStoredValues::new(),
        )),
        max_parallel_actions: cli.max_parallel.map(usize::from),
        host_only: matches!(
            cli.command,
            Command::Run { host: true, .. } | Command::Replay { host: true, .. }
        ),
        ..pipewright_api::engine::EngineOptions::new(data_dir(cli))
    };
    Ok(Pipewright::open_with(options, pipewright_api::local_actor("cli")).await?)
}

async fn dispatch(cli: Cli) -> Result<ExitCode> {
    if let Command::Validate {
        file,
        settings,
        json,
    } = &cli.command
    {
        return validate(file, settings.as_deref(), *json);
    }
    if let Command::Prepare {
        file,
        settings,
        sources,
    } = &cli.command
    {
        let (document, read) = load(file, settings.as_deref())?;
        local_plan::settle(
            local_plan::PipelineFile {
                file,
                pipeline: &document.pipeline,
                settings_file: settings.as_deref(),
                settings: read,
            },
            sources,
            &data_dir(&cli),
            local_plan::Acceptance::Prepare,
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let options = connection(&cli).await?;
    let uses_s3 = matches!(&cli.command, Command::Artifacts { to_s3: Some(_), .. });
    if !on_aws(&cli) && !uses_s3 && options != pipewright_aws::AwsConnection::default() {
        bail!(
            "--profile, --region and --endpoint-url choose an AWS connection: give --aws too (or use them with artifacts --to-s3)"
        );
    }
    if let Command::ForwardEvents {
        name,
        event_bus,
        source,
        after,
        follow,
    } = &cli.command
    {
        if !on_aws(&cli) {
            bail!(
                "forward-events puts events on an AWS event bus: give --aws (and --region), or --connection"
            );
        }
        let forwarder =
            pipewright_aws::forward::Forwarder::connect(&options, event_bus, source).await?;
        let api = open(&cli).await?;
        let result = forward_events(&api, &forwarder, name.as_deref(), *after, *follow).await;
        api.close().await?;
        return result;
    }
    if matches!(cli.command, Command::Pull { .. } | Command::Replay { .. }) && !on_aws(&cli) {
        bail!(
            "pull and replay read a pipeline from AWS: give --aws (with --profile, --region), or --connection"
        );
    }
    if on_aws(&cli) {
        let backend = pipewright_aws::AwsBackend::connect(&options).await?;
        return run_on_aws(&cli, &backend).await;
    }
    let api = open(&cli).await?;
    let result = match run_on_backend(&cli, &api).await {
        Ok(Some(code)) => Ok(code),
        Ok(None) => run_command(&cli, &api).await,
        Err(error) => Err(error),
    };
    api.close().await?;
    result
}

/// Forwards the stored events after `after` (of one pipeline, or all), and with `follow` the new
/// ones as they come, until Ctrl-C.
async fn forward_events(
    api: &Pipewright,
    forwarder: &pipewright_aws::forward::Forwarder,
    name: Option<&str>,
    after: i64,
    follow: bool,
) -> Result<ExitCode> {
    let filter = pipewright_api::EventFilter {
        execution_id: None,
        pipeline: name,
    };
    let mut feed = events::EventFeed::new(api, filter, after, follow);
    let mut forwarded = 0;
    while let Some(batch) = feed.next_batch().await? {
        let events: Vec<serde_json::Value> = batch.into_iter().map(|(_, e)| e).collect();
        forwarded += forwarder.put(&events).await?;
        if follow {
            println!("Forwarded {forwarded} events (up to number {})", feed.after);
        }
    }
    if !follow {
        println!("Forwarded {forwarded} events (up to number {})", feed.after);
    }
    Ok(ExitCode::SUCCESS)
}

/// `--interval`: a number of seconds, at least a tenth of one.
fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if (0.1..=86_400.0).contains(&seconds) => Ok(seconds),
        _ => Err(format!(
            "{text} is not a number of seconds from 0.1 to 86400"
        )),
    }
}

/// The plan to make what `backend` has into `pipeline`.
async fn plan_for(
    backend: &dyn Backend,
    pipeline: &pipewright_api::model::PipelineDeclaration,
) -> Result<pipewright_api::PipelinePlan> {
    let deployed = match backend.get_pipeline(&pipeline.name, None).await {
        Ok(out) => Some(out.pipeline),
        Err(error) if error.code == "PipelineNotFoundException" => None,
        Err(error) => return Err(error.into()),
    };
    Ok(pipewright_api::plan(pipeline, deployed.as_ref()))
}

/// A command with `--aws`: the commands of either backend, and retry and rollback, which start
/// the work on AWS and say so (following it there comes with the AWS watcher).
async fn run_on_aws(cli: &Cli, backend: &pipewright_aws::AwsBackend) -> Result<ExitCode> {
    if let Some(code) = run_on_backend(cli, backend).await? {
        return Ok(code);
    }
    match &cli.command {
        Command::Retry {
            name,
            stage,
            execution,
            all,
            ..
        } => {
            let id = latest_or(backend, name, execution).await?;
            backend.retry(name, stage, &id, *all).await?;
            println!(
                "Retrying {name}/{stage} in execution {id} on {}",
                backend.name()
            );
        }
        Command::Rollback {
            name,
            stage,
            target,
            ..
        } => {
            let id = backend.rollback(name, stage, target.as_deref()).await?;
            println!(
                "Rolling back {name}/{stage} on {}: execution {id}",
                backend.name()
            );
        }
        Command::Events {
            name,
            execution,
            follow,
            json,
            ..
        } => {
            if !*follow {
                bail!(
                    "AWS keeps no event history to read back: watch events as they happen with --follow"
                );
            }
            let names: Vec<String> = name.iter().cloned().collect();
            let watching = pipewright_aws::watch::watch(
                backend,
                &names,
                pipewright_aws::watch::Pacing::default(),
                None,
                |events| {
                    let wanted = |e: &&serde_json::Value| {
                        execution
                            .as_deref()
                            .is_none_or(|id| e["detail"]["execution-id"] == id)
                    };
                    for event in events.iter().filter(wanted) {
                        events::print_event(None, event, *json);
                    }
                    true
                },
            );
            tokio::select! {
                watched = watching => watched?,
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Command::Artifacts {
            name,
            execution,
            export,
            output,
            to_s3,
            json,
        } => {
            if to_s3.is_some() {
                bail!("--to-s3 uploads a local execution's artifacts: run it without --aws");
            }
            let id = latest_or(backend, name, execution).await?;
            let export = match (export, output) {
                (Some(artifact), Some(output)) => Some((artifact.as_str(), output.as_path())),
                (Some(_), None) => bail!("--export downloads a zip: give --output FILE"),
                _ => None,
            };
            let connection = connection(cli).await?;
            s3_artifacts::aws_command(backend, &connection, name, &id, export, *json).await?;
        }
        Command::Replay {
            name,
            action,
            execution,
            dir,
            json,
            ..
        } => {
            let connection = connection(cli).await?;
            let request = replay::Request {
                name,
                action,
                execution: execution.as_deref(),
                dir: dir.as_deref(),
                json: *json,
            };
            return replay::replay(cli, backend, &connection, request).await;
        }
        Command::Pull { name, dir, sources } => {
            let connection = connection(cli).await?;
            pull::pull(backend, &connection, name, dir, sources, &data_dir(cli)).await?;
        }
        _ => bail!(
            "this command works on the local engine only; run it without --aws (on AWS: pipelines, export, pull, replay, plan, push, state, executions, actions, approvals, approve, reject, stop, retry, rollback, transition, artifacts, events --follow)"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn validate(file: &Path, settings: Option<&Path>, json: bool) -> Result<ExitCode> {
    // Tools reading `--json` get a file that cannot be read as a report too.
    let unloadable = |error: anyhow::Error, code: &'static str| -> Result<ExitCode> {
        if !json {
            return Err(error);
        }
        print_json(&unloadable_report(&error, code))?;
        Ok(ExitCode::FAILURE)
    };
    let document = match load_document(file) {
        Ok(document) => document,
        Err(error) => return unloadable(error, "unreadable-file"),
    };
    let settings = match load_settings(file, settings) {
        Ok(settings) => settings.unwrap_or_default(),
        Err(error) => return unloadable(error, "invalid-settings"),
    };
    let report = pipewright_api::validate(&document.pipeline, &settings);
    if json {
        print_json(&report)?;
    } else {
        output::diagnostics(&file.display().to_string(), &report.diagnostics);
    }
    Ok(if report.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `validate --json`'s report for a file that could not be loaded, in the shape of every other
/// report: one error diagnostic, with the JSON path of a pipeline file that was read but is not
/// a pipeline, and `line` and `column` (beyond the usual fields) where they are known.
fn unloadable_report(error: &anyhow::Error, code: &'static str) -> serde_json::Value {
    let mut diagnostic = serde_json::json!({"severity": "error", "code": code, "path": ""});
    match error.downcast_ref::<pipewright_api::model::LoadError>() {
        Some(load) => {
            let code = if load.path.is_some() {
                "invalid-structure"
            } else {
                "invalid-syntax"
            };
            diagnostic["code"] = code.into();
            diagnostic["path"] = load.path.clone().unwrap_or_default().into();
            if let (Some(line), Some(column)) = (load.line, load.column) {
                diagnostic["line"] = line.into();
                diagnostic["column"] = column.into();
            }
            diagnostic["message"] = load.message.clone().into();
        }
        None => diagnostic["message"] = format!("{error:#}").into(),
    }
    serde_json::json!({"pipeline": "", "diagnostics": [diagnostic]})
}

fn parse_vars(vars: &[String]) -> Result<IndexMap<String, String>> {
    let mut out = IndexMap::new();
    for var in vars {
        let Some((name, value)) = var.split_once('=') else {
            bail!("--var {var}: expected NAME=VALUE");
        };
        out.insert(name.to_owned(), value.to_owned());
    }
    Ok(out)
}

/// The token of the approval `name/stage/action` waits for in its newest execution there, as
/// GetPipelineState shows it.
async fn latest_approval_token(
    backend: &dyn Backend,
    name: &str,
    stage: &str,
    action: &str,
) -> Result<String> {
    backend
        .get_pipeline_state(name)
        .await?
        .stage_states
        .iter()
        .find(|s| s.stage_name == stage)
        .with_context(|| format!("the pipeline {name} has no stage {stage}"))?
        .action_states
        .iter()
        .find(|a| a.action_name == action)
        .with_context(|| format!("the stage {stage} has no action {action}"))?
        .latest_execution
        .as_ref()
        .and_then(|e| e.token.clone())
        .with_context(|| format!("{name}/{stage}/{action} is not waiting for approval"))
}

async fn latest_or(
    backend: &dyn Backend,
    name: &str,
    execution: &Option<String>,
) -> Result<String> {
    match execution {
        Some(id) => Ok(id.clone()),
        None => backend
            .list_executions(name, 1)
            .await?
            .pipeline_execution_summaries
            .into_iter()
            .next()
            .map(|e| e.pipeline_execution_id)
            .with_context(|| format!("the pipeline {name} has no executions yet")),
    }
}

/// The commands that work on either backend (the local engine, or AWS with `--aws`); None for
/// the others.
async fn run_on_backend(cli: &Cli, backend: &dyn Backend) -> Result<Option<ExitCode>> {
    match &cli.command {
        Command::Export {
            name,
            format,
            version,
            metadata,
        } => {
            let output = backend.get_pipeline(name, *version).await?;
            if *metadata {
                let value = serde_json::to_value(&output)?;
                let format = match format {
                    OutputFormat::Json => Format::Json,
                    OutputFormat::Yaml => Format::Yaml,
                };
                print!("{}", pipewright_api::model::render(&value, format));
                return Ok(Some(ExitCode::SUCCESS));
            }
            let mut document = PipelineDocument::from_declaration(output.pipeline);
            // An export is what create-pipeline takes back: the declaration as AWS keeps it.
            document.pipeline.version = None;
            let format = match format {
                OutputFormat::Json => Format::Json,
                OutputFormat::Yaml => Format::Yaml,
            };
            print!("{}", document.to_text(format));
        }
        Command::Pipelines { json } => {
            let list = backend.list_pipelines().await?;
            if *json {
                print_json(&list)?
            } else {
                output::pipelines(&list)
            }
        }
        Command::State { name, json } => {
            let state = backend.get_pipeline_state(name).await?;
            if *json {
                print_json(&state)?
            } else {
                output::state(&state)
            }
        }
        Command::Executions { name, limit, json } => {
            let list = backend.list_executions(name, *limit).await?;
            if *json {
                print_json(&list)?
            } else {
                output::executions(&list)
            }
        }
        Command::Actions {
            name,
            execution,
            json,
        } => {
            let list = backend
                .list_action_executions(name, execution.as_deref())
                .await?;
            if *json {
                print_json(&list)?
            } else {
                output::actions(&list)
            }
        }
        Command::Approve {
            name,
            stage,
            action,
            execution,
            summary,
        }
        | Command::Reject {
            name,
            stage,
            action,
            execution,
            summary,
        } => {
            let approved = matches!(cli.command, Command::Approve { .. });
            let token = match execution {
                Some(id) => backend
                    .pending_approvals()
                    .await?
                    .into_iter()
                    .find(|a| {
                        a.pipeline_name == *name
                            && a.stage_name == *stage
                            && a.action_name == *action
                            && a.pipeline_execution_id == *id
                    })
                    .map(|a| a.token)
                    .with_context(|| {
                        format!(
                            "execution {id} is not waiting for approval at {name}/{stage}/{action}"
                        )
                    })?,
                None => latest_approval_token(backend, name, stage, action).await?,
            };
            backend
                .put_approval_result(name, stage, action, &token, approved, summary)
                .await?;
            println!(
                "{} {name}/{stage}/{action}",
                if approved { "Approved" } else { "Rejected" }
            );
        }
        Command::Approvals { json } => {
            let pending = backend.pending_approvals().await?;
            if *json {
                print_json(&pending)?
            } else {
                output::approvals(&pending)
            }
        }
        Command::Stop {
            name,
            execution,
            abandon,
            reason,
        } => {
            let id = latest_or(backend, name, execution).await?;
            backend.stop(name, &id, *abandon, reason.as_deref()).await?;
            println!(
                "Stopping execution {id} ({})",
                if *abandon {
                    "abandoning running actions"
                } else {
                    "waiting for running actions"
                }
            );
        }
        Command::Transition {
            name,
            stage,
            state,
            reason,
        } => {
            let enabled = matches!(state, TransitionState::Enable);
            backend
                .set_transition(name, stage, enabled, reason.as_deref())
                .await?;
            println!(
                "Transition into {name}/{stage} {}",
                if enabled { "enabled" } else { "disabled" }
            );
        }
        Command::Plan { file, json } => {
            let (document, _) = load(file, None)?;
            let plan = plan_for(backend, &document.pipeline).await?;
            if *json {
                print_json(&plan)?;
            } else {
                output::plan(&plan, &backend.name());
            }
            return Ok(Some(if plan.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            }));
        }
        Command::Push { file, yes } => {
            let (document, _) = load(file, None)?;
            let pipeline = &document.pipeline;
            let plan = plan_for(backend, pipeline).await?;
            output::plan(&plan, &backend.name());
            if plan.is_empty() {
                return Ok(Some(ExitCode::SUCCESS));
            }
            if !*yes && !confirm(&format!("Push {} to {}?", pipeline.name, backend.name()))? {
                bail!("not pushed (confirm, or give --yes)");
            }
            let (name, version) = match plan.deployed_version {
                // A create-pipeline document's tags go with it, as create-pipeline takes them.
                None => backend.create_pipeline(pipeline, &document.tags()).await?,
                Some(_) => backend.update_pipeline(pipeline).await?,
            };
            println!("Pushed {name}: version {version} on {}", backend.name());
        }
        _ => return Ok(None),
    }
    Ok(Some(ExitCode::SUCCESS))
}

async fn run_command(cli: &Cli, api: &Pipewright) -> Result<ExitCode> {
    match &cli.command {
        Command::Validate { .. } | Command::Prepare { .. } => {
            unreachable!("handled before the data directory is opened")
        }
        Command::Import {
            file,
            settings,
            json,
        } => {
            let (document, settings) = load(file, settings.as_deref())?;
            let (name, version) = api.import(&document, settings.as_ref()).await?;
            if *json {
                print_json(&serde_json::json!({"name": name, "version": version}))?;
            } else {
                println!("{name} version {version}");
            }
        }
        Command::Run {
            pipeline,
            vars,
            settings,
            json,
            host: _,
            yes,
            sources,
        } => {
            let request = run::Request {
                pipeline,
                vars: parse_vars(vars)?,
                settings: settings.as_deref(),
                json: *json,
                yes: *yes,
                sources,
            };
            return run::run(api, &data_dir(cli), request).await;
        }
        Command::Reports {
            name,
            execution,
            json,
        } => {
            let out = api.reports(name, execution.as_deref()).await?;
            if *json {
                print_json(&out)?;
            } else {
                reports::print(&out);
            }
        }
        Command::Logs {
            name,
            execution,
            action,
            follow,
            json,
        } => {
            let id = latest_or(api, name, execution).await?;
            return logs::logs(api, name, &id, action.as_deref(), *follow, *json).await;
        }
        Command::Retry {
            name,
            stage,
            execution,
            all,
            json,
        } => {
            let id = latest_or(api, name, execution).await?;
            let after = api.last_event_seq().await?;
            api.retry(name, stage, &id, *all).await?;
            return follow::follow(api, name, &id, after, *json).await;
        }
        Command::Rollback {
            name,
            stage,
            target,
            json,
        } => {
            let id = api.rollback(name, stage, target.as_deref()).await?;
            return follow::follow(api, name, &id, 0, *json).await;
        }
        Command::OnEvents {
            rules,
            after,
            follow,
        } => {
            let after = match after {
                Some(after) => *after,
                None if *follow => api.last_event_seq().await?,
                None => 0,
            };
            on_events::run(api, rules, after, *follow).await?;
        }
        Command::Events {
            name,
            execution,
            after,
            follow,
            json,
        } => {
            let filter = pipewright_api::EventFilter {
                execution_id: execution.as_deref(),
                pipeline: name.as_deref(),
            };
            events::events(api, filter, *after, *follow, *json).await?;
        }
        Command::Artifacts {
            name,
            execution,
            export,
            output,
            to_s3,
            json,
        } => {
            let id = latest_or(api, name, execution).await?;
            if let Some(bucket) = to_s3 {
                let bucket = (!bucket.is_empty()).then_some(bucket.as_str());
                s3_artifacts::upload(
                    api,
                    &connection(cli).await?,
                    name,
                    &id,
                    export.as_deref(),
                    bucket,
                    *json,
                )
                .await?;
            } else if export.is_some() && output.is_none() {
                bail!("--export writes a zip: give --output FILE (or --to-s3 to upload it)");
            } else if let (Some(artifact), Some(output)) = (export, output) {
                let exported = api.export_artifact(name, &id, artifact, output).await?;
                println!(
                    "Wrote {} ({} files, {} bytes) to {}",
                    exported.name,
                    exported.files,
                    exported.bytes,
                    output.display()
                );
            } else {
                let list = api.artifacts(name, &id).await?;
                if *json {
                    print_json(&list)?
                } else {
                    for a in &list {
                        println!(
                            "{:<24} {:>6} files {:>12} bytes  {}",
                            a.name, a.files, a.bytes, a.digest
                        );
                    }
                }
            }
        }
        Command::History { name, limit, json } => {
            let rows = api.audit(name.as_deref(), *limit).await?;
            if *json {
                print_json(&rows)?
            } else {
                output::history(&rows)
            }
        }
        Command::Serve {
            port,
            host,
            access_key_id,
            secret_access_key,
        } => {
            let credentials = match (access_key_id, secret_access_key) {
                (Some(id), Some(secret)) => Some(pipewright_server::Credentials {
                    access_key_id: id.clone(),
                    secret_access_key: secret.clone(),
                }),
                _ => None,
            };
            if credentials.is_none() && !host.is_loopback() {
                bail!(
                    "serving on {host} lets other machines drive this one: give --access-key-id and --secret-access-key, so that only requests signed with them are answered"
                );
            }
            let listener = tokio::net::TcpListener::bind((*host, *port))
                .await
                .with_context(|| format!("cannot listen on {host}:{port}"))?;
            let address = listener.local_addr()?;
            println!("pipewright serve: the CodePipeline API at http://{address}");
            println!(
                "  aws codepipeline --endpoint-url http://{address} --region us-east-1 list-pipelines"
            );
            // On Ctrl-C the executions this process drives are interrupted (closing the facade
            // after this command); the next process settles them, as after `run`.
            tokio::select! {
                served = pipewright_server::serve(api.clone(), listener, credentials) => served?,
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Command::Watch { names, interval } => {
            return watch::watch(api, names, std::time::Duration::from_secs_f64(*interval)).await;
        }
        Command::Gc { keep, json } => {
            let report = api.gc(*keep).await?;
            if *json {
                print_json(&report)?;
            } else {
                println!(
                    "Removed {} executions and {} artifacts ({} bytes)",
                    report.executions_removed, report.artifacts_removed, report.bytes_freed
                );
                if report.artifacts_kept_because_busy {
                    println!(
                        "Artifacts were kept: actions kept storing artifacts while gc waited; run gc again"
                    );
                }
            }
        }
        // Answered by run_on_backend before this runs.
        _ => unreachable!("a command of either backend"),
    }
    Ok(ExitCode::SUCCESS)
}
