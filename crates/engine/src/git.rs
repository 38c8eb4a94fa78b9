//! The git command line, for sources that read repositories and the watchers of local triggers.
//! `git` itself does the work (it knows every repository layout, worktrees and packs); this
//! module runs it and reads what it prints.

use std::path::Path;

/// Runs `git -C repo ARGS` and returns its output, trimmed; its stderr in the error.
pub async fn output(repo: &Path, args: &[&str]) -> Result<String, String> {
    let output = tokio::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .await
        .map_err(|e| format!("cannot run git: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "git {} in {}: {}",
            args.join(" "),
            repo.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .trim_end()
        .to_owned())
}

/// Every branch and tag of a repository with the commit it points at (an annotated tag's
/// commit, not the tag object): `refs/heads/main`, `refs/tags/v1.0`.
pub async fn refs(repo: &Path) -> Result<Vec<(String, String)>, String> {
    let listed = output(
        repo,
        &[
            "for-each-ref",
            "--format=%(refname) %(objectname) %(*objectname)",
            "refs/heads",
            "refs/tags",
        ],
    )
    .await?;
    Ok(listed
        .lines()
        .filter_map(|line| {
            let mut parts = line.split(' ');
            let name = parts.next()?;
            let object = parts.next()?;
            let peeled = parts.next().filter(|p| !p.is_empty());
            Some((name.to_owned(), peeled.unwrap_or(object).to_owned()))
        })
        .collect())
}

/// The files a push changed: between the commit seen before and the new one, or, for a branch
/// seen for the first time, the new commit's own changes.
pub async fn changed_files(
    repo: &Path,
    before: Option<&str>,
    after: &str,
) -> Result<Vec<String>, String> {
    let listed = match before {
        Some(before) => output(repo, &["diff", "--name-only", before, after]).await?,
        None => {
            output(
                repo,
                &[
                    "diff-tree",
                    "--no-commit-id",
                    "--name-only",
                    "-r",
                    "--root",
                    after,
                ],
            )
            .await?
        }
    };
    Ok(listed.lines().map(str::to_owned).collect())
}

/// The branch the repository has checked out; None on a detached HEAD.
pub async fn head_branch(repo: &Path) -> Option<String> {
    output(repo, &["symbolic-ref", "--quiet", "--short", "HEAD"])
        .await
        .ok()
        .filter(|b| !b.is_empty())
}
