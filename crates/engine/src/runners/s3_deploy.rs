//! S3 deploy writes its input artifact to the directory the local settings map the action to:
//! extracted (`Extract: true`, under `ObjectKey` as a prefix if given) or as the zip CodePipeline
//! would upload (`Extract: false`, named by `ObjectKey`).

use std::path::{Component, Path};

use pipewright_artifacts::Digest;

use super::{ActionRun, Outcome, Services, blocking};

/// What an S3 deploy deploys, wherever to: its input artifact's name and digest, and whether it is
/// extracted (`Extract`, true unless it says false).
pub(super) fn what_to_deploy(run: &ActionRun) -> Result<(&String, &Digest, bool), Box<Outcome>> {
    let Some((name, digest)) = run.inputs.first() else {
        return Err(Box::new(Outcome::failed(
            "InvalidConfiguration",
            "an S3 deploy needs an input artifact",
        )));
    };
    let extract = run
        .action
        .config("Extract")
        .is_none_or(|v| v.eq_ignore_ascii_case("true"));
    Ok((name, digest, extract))
}

pub async fn run(services: &Services, run: &ActionRun) -> Outcome {
    let Some(target) = run.settings.as_ref().and_then(|s| s.path.clone()) else {
        return Outcome::failed(
            "NoLocalTarget",
            format!(
                "{}/{} has no local target; set `path:` for it in the local settings (a directory)",
                run.stage, run.action.name
            ),
        );
    };
    let (name, digest, extract) = match what_to_deploy(run) {
        Ok(deploy) => deploy,
        Err(outcome) => return *outcome,
    };
    let key = run.action.config("ObjectKey").unwrap_or_default();
    if Path::new(key)
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::RootDir))
    {
        return Outcome::failed(
            "InvalidConfiguration",
            format!("ObjectKey '{key}' points outside the target directory"),
        );
    }
    let artifacts = services.artifacts.clone();
    let (name, digest, key) = (name.clone(), digest.clone(), key.to_owned());
    // Copying or zipping a large artifact is file work for a blocking thread.
    let result = blocking(move || {
        if extract {
            let dest = target.join(&key);
            artifacts
                .tree(&digest)
                .map_err(|e| e.to_string())
                .and_then(|tree| {
                    copy_tree(&tree, &dest).map(|count| {
                        format!("Extracted {name}: {count} files to {}", dest.display())
                    })
                })
        } else if key.is_empty() {
            Err("Extract is false, so ObjectKey must name the zip to write".to_owned())
        } else {
            let dest = target.join(&key);
            std::fs::create_dir_all(dest.parent().unwrap_or(&target))
                .map_err(|e| format!("cannot create {}: {e}", target.display()))
                .and_then(|()| {
                    std::fs::File::create(&dest)
                        .map_err(|e| format!("cannot write {}: {e}", dest.display()))
                })
                .and_then(|file| {
                    artifacts
                        .export_zip(&digest, file)
                        .map_err(|e| e.to_string())
                })
                .map(|()| format!("Wrote {name} as {}", dest.display()))
        }
    })
    .await
    .and_then(|result| result);
    match result {
        Ok(summary) => {
            run.log.note(summary.clone());
            Outcome::succeeded(Some(summary))
        }
        Err(message) => Outcome::failed("DeployFailed", message),
    }
}

/// Copies a stored tree into `dest`, replacing files that exist. Returns the number of files.
fn copy_tree(from: &Path, dest: &Path) -> Result<u64, String> {
    let mut count = 0;
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.map_err(|e| e.to_string())?;
        let relative = entry.path().strip_prefix(from).map_err(|e| e.to_string())?;
        let to = dest.join(relative);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to)
                .map_err(|e| format!("cannot create {}: {e}", to.display()))?;
        } else if entry.file_type().is_file() {
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            std::fs::copy(entry.path(), &to)
                .map_err(|e| format!("cannot write {}: {e}", to.display()))?;
            count += 1;
        }
    }
    std::fs::create_dir_all(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    Ok(count)
}
