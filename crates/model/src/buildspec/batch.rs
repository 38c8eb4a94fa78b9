//! A buildspec's `batch:` section as CodeBuild reads it when an action enables batch builds:
//! `build-list`, `build-graph` (with `depend-on`), `build-matrix` (`static` settings for every
//! build, `dynamic` lists whose every combination is a build) or `build-fanout` (`parallelism`
//! copies of the build), and `fast-fail`. [`Batch::builds`] expands it into the builds to run.

use indexmap::IndexMap;

use super::raw::{RawBatch, RawBatchBuild, RawBatchEnv, RawFanout, RawMatrix, Strings};

/// One build of a batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchBuild {
    /// Names the build: its variable `CODEBUILD_BATCH_BUILD_IDENTIFIER`, and the output artifact
    /// it fills when the artifacts are not combined.
    pub identifier: String,
    /// Another buildspec, a path in the primary source; None: this buildspec's phases.
    pub buildspec: Option<String>,
    pub variables: IndexMap<String, String>,
    pub image: Option<String>,
    pub privileged: Option<bool>,
    /// Keys of the build's `env` that a local build does not use (`compute-type`, `type`,
    /// `fleet`), with their values, to be named.
    pub unused: IndexMap<String, String>,
    /// A failure of this build does not fail the batch.
    pub ignore_failure: bool,
    /// Builds that must succeed before this one starts (`build-graph`).
    pub depend_on: Vec<String>,
}

/// How the batch's builds are laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchKind {
    List,
    Graph,
    Matrix,
    Fanout,
}

impl BatchKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            BatchKind::List => "build-list",
            BatchKind::Graph => "build-graph",
            BatchKind::Matrix => "build-matrix",
            BatchKind::Fanout => "build-fanout",
        }
    }
}

/// The batch: its builds, expanded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub kind: BatchKind,
    /// `fast-fail`: a failure stops the builds still running and starts no more.
    pub fast_fail: bool,
    pub builds: Vec<BatchBuild>,
}

/// The most builds a batch runs here: each has its own copy of the inputs, and a few dynamic
/// lists of a matrix multiply into thousands.
const MAX_BUILDS: usize = 100;

impl Batch {
    /// The `batch` section of a buildspec's text, read on its own: CodeBuild reads it only for
    /// a batch build, so what is wrong with it is kept for then, not a failure of the buildspec.
    pub(crate) fn parse(buildspec: &str) -> Result<Batch, String> {
        #[derive(serde::Deserialize)]
        struct Document {
            batch: RawBatch,
        }
        let document: Document =
            serde_saphyr::from_str(buildspec).map_err(|e| format!("/batch: {e}"))?;
        Batch::from_raw(document.batch)
    }

    /// The section as CodeBuild reads it; what is wrong says where.
    fn from_raw(raw: RawBatch) -> Result<Batch, String> {
        let fast_fail = raw.fast_fail;
        let (kind, builds) = match (
            raw.build_list,
            raw.build_graph,
            raw.build_matrix,
            raw.build_fanout,
        ) {
            (Some(list), None, None, None) => {
                (BatchKind::List, builds_of(list, "/batch/build-list")?)
            }
            (None, Some(graph), None, None) => {
                (BatchKind::Graph, builds_of(graph, "/batch/build-graph")?)
            }
            (None, None, Some(matrix), None) => (BatchKind::Matrix, matrix_builds(matrix)?),
            (None, None, None, Some(fanout)) => (BatchKind::Fanout, fanout_builds(fanout)?),
            (None, None, None, None) => {
                return Err(
                    "/batch: names none of build-list, build-graph, build-matrix and build-fanout"
                        .to_owned(),
                );
            }
            _ => {
                return Err(
                    "/batch: names more than one of build-list, build-graph, build-matrix and \
                     build-fanout; CodeBuild takes one of them"
                        .to_owned(),
                );
            }
        };
        if builds.is_empty() {
            return Err(format!("/batch/{}: has no builds", kind.as_str()));
        }
        if builds.len() > MAX_BUILDS {
            return Err(too_many(kind.as_str(), builds.len()));
        }
        let mut seen = std::collections::HashSet::new();
        for build in &builds {
            if !seen.insert(build.identifier.as_str()) {
                return Err(format!(
                    "/batch/{}: two builds are named {}",
                    kind.as_str(),
                    build.identifier
                ));
            }
        }
        for build in &builds {
            if let Some(missing) = build.depend_on.iter().find(|d| !seen.contains(d.as_str())) {
                return Err(format!(
                    "/batch/build-graph: {} depends on {missing}, which is no build of the batch",
                    build.identifier
                ));
            }
        }
        Ok(Batch {
            kind,
            fast_fail,
            builds,
        })
    }
}

fn too_many(kind: &str, count: usize) -> String {
    format!(
        "/batch/{kind}: makes {count} builds; the local run takes at most {MAX_BUILDS} in a batch \
         (on CodeBuild, the project's maximumBuildsAllowed limits them)"
    )
}

fn yes(text: &str) -> bool {
    matches!(text.to_ascii_lowercase().as_str(), "yes" | "true")
}

/// A `build-list` or `build-graph`.
fn builds_of(items: Vec<RawBatchBuild>, at: &str) -> Result<Vec<BatchBuild>, String> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let at = format!("{at}/{index}");
            let identifier = item
                .identifier
                .ok_or_else(|| format!("{at}: a build needs an identifier"))?;
            if identifier.is_empty()
                || !identifier
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(format!(
                    "{at}/identifier: `{identifier}` is not an identifier CodeBuild takes (letters, digits and _)"
                ));
            }
            let mut build = build_env(item.env);
            if item.debug_session {
                build
                    .unused
                    .insert("debug-session".to_owned(), "true".to_owned());
            }
            build.identifier = identifier;
            build.buildspec = item.buildspec;
            build.ignore_failure = item.ignore_failure;
            build.depend_on = item.depend_on;
            Ok(build)
        })
        .collect()
}

/// A build's `env`: variables, image, privileged mode, and what is not used here.
fn build_env(env: Option<RawBatchEnv>) -> BatchBuild {
    let mut build = BatchBuild::default();
    let Some(env) = env else {
        return build;
    };
    build.variables = env
        .variables
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name, value.unwrap_or_default()))
        .collect();
    build.image = env.image;
    build.privileged = env.privileged_mode.as_deref().map(yes);
    build.unused = env
        .other
        .into_iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            (key, text)
        })
        .collect();
    build
}

/// A `build-matrix`: `static` applies to every build; each combination of the `dynamic` lists
/// (buildspecs, images, compute types, each variable's values) is one build, named build1,
/// build2, ... in order.
fn matrix_builds(matrix: RawMatrix) -> Result<Vec<BatchBuild>, String> {
    let (mut base, ignore_failure) = match matrix.static_part {
        Some(part) => (build_env(part.env), part.ignore_failure),
        None => (BatchBuild::default(), false),
    };
    base.ignore_failure = ignore_failure;
    let dynamic = matrix.dynamic;
    let options = |items: Vec<String>| -> Vec<Option<String>> {
        if items.is_empty() {
            vec![None]
        } else {
            items.into_iter().map(Some).collect()
        }
    };
    let (buildspecs, env) = match dynamic {
        Some(dynamic) => (options(dynamic.buildspec), dynamic.env),
        None => (vec![None], None),
    };
    let (images, compute, variables) = match env {
        Some(env) => (
            options(env.image),
            options(env.compute_type),
            env.variables.unwrap_or_default(),
        ),
        None => (vec![None], vec![None], IndexMap::new()),
    };
    // Counted before they are made: a few long lists multiply into more than memory holds.
    let count = variables.values().fold(
        buildspecs.len() * images.len() * compute.len(),
        |count, Strings(values)| count.saturating_mul(values.len().max(1)),
    );
    if count > MAX_BUILDS {
        return Err(too_many("build-matrix", count));
    }
    let mut combinations: Vec<BatchBuild> = Vec::new();
    for buildspec in &buildspecs {
        for image in &images {
            for compute_type in &compute {
                let mut build = base.clone();
                if let Some(buildspec) = buildspec {
                    build.buildspec = Some(buildspec.clone());
                }
                if let Some(image) = image {
                    build.image = Some(image.clone());
                }
                if let Some(compute_type) = compute_type {
                    build
                        .unused
                        .insert("compute-type".to_owned(), compute_type.clone());
                }
                combinations.push(build);
            }
        }
    }
    for (name, Strings(values)) in variables {
        let mut next = Vec::new();
        for build in &combinations {
            for value in &values {
                let mut build = build.clone();
                build.variables.insert(name.clone(), value.clone());
                next.push(build);
            }
        }
        combinations = next;
    }
    for (index, build) in combinations.iter_mut().enumerate() {
        build.identifier = format!("build{}", index + 1);
    }
    Ok(combinations)
}

/// A `build-fanout`: `parallelism` copies of the build, shard1, shard2, ...
fn fanout_builds(fanout: RawFanout) -> Result<Vec<BatchBuild>, String> {
    let parallelism = fanout
        .parallelism
        .and_then(|p| p.trim().parse::<u32>().ok())
        .filter(|p| (1..=100).contains(p))
        .ok_or("/batch/build-fanout/parallelism: needs a number of builds from 1 to 100")?;
    Ok((1..=parallelism)
        .map(|shard| BatchBuild {
            identifier: format!("shard{shard}"),
            ignore_failure: fanout.ignore_failure,
            ..BatchBuild::default()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The batch of a buildspec that has only `batch:`, indented from `yaml`.
    fn batch(yaml: &str) -> Result<Batch, String> {
        let indented: String = yaml.lines().map(|l| format!("  {l}\n")).collect();
        let spec = crate::buildspec::parse(&format!("version: 0.2\nbatch:\n{indented}"))
            .map_err(|e| e.to_string())?;
        spec.batch.expect("a batch")
    }

    #[test]
    fn a_list_and_a_graph_keep_their_builds_as_written() {
        let b = batch(
            "fast-fail: true\nbuild-graph:\n  - identifier: build1\n    env:\n      variables: {PY: 3.10}\n      image: aws/codebuild/standard:7.0\n      compute-type: BUILD_GENERAL1_SMALL\n      privileged-mode: true\n  - identifier: test\n    buildspec: ci/test.yml\n    depend-on: [build1]\n    ignore-failure: yes\n",
        )
        .expect("parses");
        assert_eq!(b.kind, BatchKind::Graph);
        assert!(b.fast_fail);
        assert_eq!(b.builds[0].variables["PY"], "3.10");
        assert_eq!(
            b.builds[0].image.as_deref(),
            Some("aws/codebuild/standard:7.0")
        );
        assert_eq!(b.builds[0].privileged, Some(true));
        assert_eq!(b.builds[0].unused["compute-type"], "BUILD_GENERAL1_SMALL");
        assert_eq!(b.builds[1].depend_on, ["build1"]);
        assert!(b.builds[1].ignore_failure);
        assert_eq!(b.builds[1].buildspec.as_deref(), Some("ci/test.yml"));
    }

    #[test]
    fn a_matrix_is_every_combination_of_its_dynamic_lists() {
        let b = batch(
            "build-matrix:\n  static:\n    ignore-failure: false\n    env:\n      variables: {COMMON: yes}\n  dynamic:\n    buildspec: [a.yml, b.yml]\n    env:\n      image: [node:18, node:20]\n      variables:\n        MODE: [debug, release, test]\n",
        )
        .expect("parses");
        assert_eq!(b.builds.len(), 12);
        assert_eq!(b.builds[0].identifier, "build1");
        assert_eq!(b.builds[11].identifier, "build12");
        let combos: std::collections::HashSet<(String, String, String)> = b
            .builds
            .iter()
            .map(|build| {
                (
                    build.buildspec.clone().unwrap_or_default(),
                    build.image.clone().unwrap_or_default(),
                    build.variables["MODE"].clone(),
                )
            })
            .collect();
        assert_eq!(combos.len(), 12, "each combination once");
        assert!(b.builds.iter().all(|b| b.variables["COMMON"] == "yes"));
    }

    #[test]
    fn fanout_copies_and_mistakes_say_where() {
        let b = batch("build-fanout:\n  parallelism: 3\n  ignore-failure: true\n").expect("parses");
        assert_eq!(
            b.builds
                .iter()
                .map(|b| b.identifier.as_str())
                .collect::<Vec<_>>(),
            ["shard1", "shard2", "shard3"]
        );
        assert!(b.builds.iter().all(|b| b.ignore_failure));
        let e = batch("build-list:\n  - identifier: a\n  - identifier: a\n").expect_err("twice");
        assert!(e.contains("two builds are named a"), "{e}");
        let e =
            batch("build-graph:\n  - identifier: a\n    depend-on: [b]\n").expect_err("missing");
        assert!(e.contains("a depends on b"), "{e}");
        let e = batch("build-list:\n  - identifier: bad-name\n").expect_err("name");
        assert!(e.contains("/batch/build-list/0/identifier"), "{e}");
        let e = batch("build-list: []\nbuild-fanout: {parallelism: 2}\n").expect_err("two kinds");
        assert!(e.contains("CodeBuild takes one of them"), "{e}");
        let values: Vec<String> = (0..20).map(|n| n.to_string()).collect();
        let list = values.join(", ");
        let e = batch(&format!(
            "build-matrix:\n  dynamic:\n    env:\n      variables:\n        A: [{list}]\n        B: [{list}]\n        C: [{list}]\n"
        ))
        .expect_err("too many");
        assert!(e.contains("makes 8000 builds"), "{e}");
    }

    #[test]
    fn a_mistake_in_the_batch_section_fails_only_a_batch_build() {
        let spec = crate::buildspec::parse(
            "version: 0.2\nphases:\n  build:\n    commands: [make]\nbatch:\n  build-list:\n    identifier: a\n",
        )
        .expect("the buildspec itself is fine");
        assert_eq!(spec.phases_in_order().len(), 1);
        let e = spec
            .batch
            .expect("a batch section")
            .expect_err("a map, not a list");
        assert!(e.starts_with("/batch"), "{e}");
    }
}
