//! Source actions read what the local settings map them to: a git repository (or a plain folder)
//! for CodeStarSourceConnection, CodeCommit and GitHub (the branch head, a clone of it with its
//! history for `OutputArtifactFormat: CODEBUILD_CLONE_REF`, or the working tree with
//! `workingCopy: true`, whose revision is HEAD, marked when the tree has uncommitted changes), a
//! directory (or a git working tree, with `workingCopy: true`) or a .zip file for S3.

use std::path::{Path, PathBuf};

use pipewright_artifacts::Selection;

use super::{ActionRun, Outcome, Revision, Services, blocking};

fn mapped_path(run: &ActionRun) -> Result<PathBuf, Box<Outcome>> {
    run.settings.as_ref().and_then(|s| s.path.clone()).ok_or_else(|| {
        Box::new(Outcome::failed(
            "NoLocalSource",
            format!(
                "{}/{} has no local source; set `path:` for it in the local settings (a git repository or a directory)",
                run.stage, run.action.name
            ),
        ))
    })
}

pub(super) fn output_name(run: &ActionRun) -> Result<String, Box<Outcome>> {
    run.action
        .outputs()
        .first()
        .map(|o| o.name.clone())
        .ok_or_else(|| {
            Box::new(Outcome::failed(
                "InvalidConfiguration",
                "a source action needs an output artifact",
            ))
        })
}

pub async fn git(services: &Services, run: &ActionRun) -> Outcome {
    let repo = match mapped_path(run) {
        Ok(path) => path,
        Err(outcome) => return *outcome,
    };
    if repo.is_dir()
        && crate::git::output(&repo, &["rev-parse", "--show-toplevel"])
            .await
            .is_err()
    {
        if let Some(revision) = &run.revision {
            return Outcome::failed(
                "SourceNotFound",
                format!(
                    "the execution reads revision {} of this source, but {} is a folder, not a git repository",
                    revision.revision,
                    repo.display()
                ),
            );
        }
        // The settings (or `--source`) give a folder for a git source: it is read as it is.
        run.log.note(format!(
            "{} is not in a git repository: its files are read as a folder, with no commit (so no CommitId)",
            repo.display()
        ));
        return local(services, run).await;
    }
    let artifact = match output_name(run) {
        Ok(name) => name,
        Err(outcome) => return *outcome,
    };
    // The branch a trigger saw the revision pushed to, else the one the action names.
    let branch = run
        .revision
        .as_ref()
        .and_then(|r| r.branch.clone())
        .or_else(|| {
            run.action
                .config("BranchName")
                .or(run.action.config("Branch"))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "HEAD".to_owned());
    // The execution's source revision (a trigger's commit, or StartPipelineExecution's
    // sourceRevisions) is read as committed, whatever the settings say of the working tree.
    let working_copy =
        run.revision.is_none() && run.settings.as_ref().is_some_and(|s| s.working_copy);
    // The working tree is what HEAD has checked out, whatever branch the action names.
    let revision = match &run.revision {
        Some(revision) => {
            run.log.note(format!(
                "Source revision {}, as the execution was started with",
                revision.revision
            ));
            revision.revision.as_str()
        }
        None if working_copy => "HEAD",
        None => &branch,
    };
    let commit = match crate::git::output(
        &repo,
        &["rev-parse", "--verify", &format!("{revision}^{{commit}}")],
    )
    .await
    {
        Ok(commit) => commit,
        Err(message) => return Outcome::failed("SourceNotFound", message),
    };
    let mut message = crate::git::output(&repo, &["log", "-1", "--format=%s", &commit])
        .await
        .unwrap_or_default();
    if working_copy && has_local_changes(&repo).await {
        message.push_str(LOCAL_CHANGES);
    }
    let author_date = crate::git::output(&repo, &["log", "-1", "--format=%aI", &commit])
        .await
        .unwrap_or_default();
    let dest = run.workspace.join("source");
    let fetched = if working_copy {
        run.log.note(format!(
            "Working tree of {} (uncommitted changes included)",
            repo.display()
        ));
        copy_working_tree(&repo, &dest).await
    } else if run.action.config("OutputArtifactFormat") == Some("CODEBUILD_CLONE_REF") {
        // "Full clone": CodeBuild clones the repository, so the build sees its history.
        run.log.note(format!(
            "{} at {branch} = {commit}, cloned with its history (CODEBUILD_CLONE_REF)",
            repo.display()
        ));
        clone(&repo, &branch, &commit, &dest).await
    } else {
        run.log
            .note(format!("{} at {branch} = {commit}", repo.display()));
        archive(&repo, &commit, &dest).await
    };
    if let Err(message) = fetched {
        return Outcome::failed("SourceNotFound", message);
    }
    let artifacts = services.artifacts.clone();
    let source = dest.clone();
    let ingested = match blocking(move || artifacts.ingest(&source, &Selection::all())).await {
        Ok(Ok(ingested)) => ingested,
        Ok(Err(error)) => return Outcome::failed("ArtifactError", error.to_string()),
        Err(message) => return Outcome::failed("InternalError", message),
    };
    run.log.note(format!(
        "Output artifact {artifact}: {} files, {} bytes ({})",
        ingested.files, ingested.bytes, ingested.digest
    ));
    let mut outcome = Outcome::succeeded(Some(message.clone()));
    outcome.outputs.push((artifact.clone(), ingested));
    let repository = run
        .action
        .config("FullRepositoryId")
        .or(run.action.config("RepositoryName"))
        .or(run.action.config("Repo"))
        .unwrap_or_default()
        .to_owned();
    for (name, value) in [
        ("CommitId", commit.clone()),
        ("CommitMessage", message.clone()),
        ("BranchName", branch.clone()),
        ("AuthorDate", author_date),
        ("FullRepositoryName", repository),
    ] {
        outcome.variables.insert(name.to_owned(), value);
    }
    let url = crate::git::output(&repo, &["remote", "get-url", "origin"])
        .await
        .ok()
        .and_then(|remote| crate::git::commit_url(&remote, &commit));
    let author = crate::git::output(&repo, &["log", "-1", "--format=%an", &commit])
        .await
        .ok()
        .filter(|name| !name.is_empty());
    outcome.revision = Some(Revision {
        artifact,
        revision_id: commit,
        summary: Some(message),
        url,
        author,
    });
    outcome
}

/// How a revision taken from a working tree with uncommitted changes is marked, after its
/// commit message: the commit id alone does not say what was built.
const LOCAL_CHANGES: &str = " (with uncommitted changes)";

/// Whether the working tree differs from HEAD: changed, staged or untracked-but-not-ignored files.
async fn has_local_changes(repo: &Path) -> bool {
    crate::git::output(repo, &["status", "--porcelain", "--untracked-files=normal"])
        .await
        .is_ok_and(|status| !status.trim().is_empty())
}

/// `git archive` of a commit: exactly the committed tree, nothing ignored or untracked.
async fn archive(repo: &Path, commit: &str, dest: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    let script = format!(
        "git -C {} archive --format=tar {} | tar -x -C {}",
        crate::script::quote(&repo.display().to_string()),
        crate::script::quote(commit),
        crate::script::quote(&dest.display().to_string())
    );
    let status = tokio::process::Command::new("sh")
        .args(["-c", &format!("set -e; {script}")])
        .status()
        .await
        .map_err(|e| format!("cannot run git archive: {e}"))?;
    if !status.success() {
        return Err(format!(
            "git archive of {commit} in {} failed",
            repo.display()
        ));
    }
    Ok(())
}

/// A clone of the repository with `commit` checked out, on `branch` when one is named.
async fn clone(repo: &Path, branch: &str, commit: &str, dest: &Path) -> Result<(), String> {
    let parent = dest.parent().unwrap_or(dest);
    let name = dest.display().to_string();
    let repo = repo.display().to_string();
    crate::git::output(
        parent,
        &["clone", "--quiet", "--no-checkout", "--", &repo, &name],
    )
    .await?;
    let checkout: Vec<&str> = if branch == "HEAD" {
        vec!["checkout", "--quiet", "--detach", commit]
    } else {
        vec!["checkout", "--quiet", "-B", branch, commit]
    };
    crate::git::output(dest, &checkout).await.map(drop)
}

/// Tracked and untracked-but-not-ignored files as they are on disk.
async fn copy_working_tree(repo: &Path, dest: &Path) -> Result<(), String> {
    let list = crate::git::output(
        repo,
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    )
    .await?;
    let (repo, dest) = (repo.to_path_buf(), dest.to_path_buf());
    blocking(move || copy_listed(&repo, &dest, &list)).await?
}

/// Whether any directory on the way to `relative` under `root` is a symlink.
fn behind_symlink(root: &Path, relative: &str) -> bool {
    let mut path = root.to_path_buf();
    let parts: Vec<&str> = relative.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        path.push(part);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return true;
        }
    }
    false
}

/// Copies the NUL-separated `list` of paths from `repo` to `dest`, symlinks as symlinks.
fn copy_listed(repo: &Path, dest: &Path, list: &str) -> Result<(), String> {
    for relative in list.split('\0').filter(|p| !p.is_empty()) {
        // A path whose directory has become a symlink in the working tree (the index still lists
        // `dir/file`, but `dir` now points elsewhere) is not in the working tree at all; copying
        // it would read and write through the link, outside both trees.
        if behind_symlink(repo, relative) || behind_symlink(dest, relative) {
            continue;
        }
        let from = repo.join(relative);
        let to = dest.join(relative);
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        // Files listed by the index but deleted in the working tree are simply absent.
        let Ok(metadata) = std::fs::symlink_metadata(&from) else {
            continue;
        };
        if metadata.file_type().is_symlink() {
            // Kept as the symlink a commit would hold, never followed: the artifact store then
            // refuses one that leaves the artifact, as it does for a committed one.
            let target = std::fs::read_link(&from)
                .map_err(|e| format!("cannot read the symlink {}: {e}", from.display()))?;
            std::os::unix::fs::symlink(&target, &to)
                .map_err(|e| format!("cannot create the symlink {}: {e}", to.display()))?;
        } else if metadata.is_file() {
            std::fs::copy(&from, &to)
                .map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
        }
    }
    std::fs::create_dir_all(dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
    Ok(())
}

pub async fn local(services: &Services, run: &ActionRun) -> Outcome {
    let path = match mapped_path(run) {
        Ok(path) => path,
        Err(outcome) => return *outcome,
    };
    let artifact = match output_name(run) {
        Ok(name) => name,
        Err(outcome) => return *outcome,
    };
    let artifacts = services.artifacts.clone();
    let source = path.clone();
    let working_copy = run.settings.as_ref().is_some_and(|s| s.working_copy);
    let ingested = if path.is_dir() && working_copy {
        // A git working tree as a commit would hold it: no .git, nothing ignored.
        run.log.note(format!(
            "Working tree of {} (uncommitted changes included)",
            path.display()
        ));
        let dest = run.workspace.join("source");
        if let Err(message) = copy_working_tree(&path, &dest).await {
            return Outcome::failed("SourceNotFound", message);
        }
        blocking(move || artifacts.ingest(&dest, &Selection::all())).await
    } else if path.is_dir() {
        run.log.note(format!("Directory {}", path.display()));
        blocking(move || artifacts.ingest(&source, &Selection::all())).await
    } else if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"))
    {
        run.log.note(format!("Zip file {}", path.display()));
        blocking(move || artifacts.import_zip(&source)).await
    } else {
        return Outcome::failed(
            "SourceNotFound",
            format!("{} is neither a directory nor a .zip file", path.display()),
        );
    };
    let ingested = match ingested.and_then(|result| result.map_err(|e| e.to_string())) {
        Ok(ingested) => ingested,
        Err(error) => return Outcome::failed("ArtifactError", error.to_string()),
    };
    let digest = ingested.digest.to_string();
    let mut outcome = Outcome::succeeded(Some(format!("{}", path.display())));
    outcome.variables.insert("ETag".to_owned(), digest.clone());
    outcome.variables.insert(
        "ObjectKey".to_owned(),
        run.action
            .config("S3ObjectKey")
            .unwrap_or_default()
            .to_owned(),
    );
    outcome.revision = Some(Revision {
        artifact: artifact.clone(),
        revision_id: digest,
        summary: Some(path.display().to_string()),
        url: None,
        author: None,
    });
    outcome.outputs.push((artifact, ingested));
    outcome
}
