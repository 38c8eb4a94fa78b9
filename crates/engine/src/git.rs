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

/// The web page of `commit` in the repository `remote` (`origin`'s URL) points at, for the hosts
/// whose page layout is known: GitHub, GitLab and Bitbucket. Other hosts have no link.
pub fn commit_url(remote: &str, commit: &str) -> Option<String> {
    let remote = remote.trim().trim_end_matches('/');
    let remote = remote.strip_suffix(".git").unwrap_or(remote);
    // https://host/owner/repo, ssh://git@host/owner/repo, git@host:owner/repo
    let (host, path) = if let Some((_, rest)) = remote.split_once("://") {
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        rest.split_once('/')?
    } else {
        let rest = remote.rsplit_once('@').map_or(remote, |(_, r)| r);
        rest.split_once(':')?
    };
    let host = host.split(':').next()?.to_ascii_lowercase();
    if path.split('/').filter(|p| !p.is_empty()).count() < 2 {
        return None;
    }
    let page = match host.as_str() {
        "github.com" => format!("commit/{commit}"),
        "gitlab.com" => format!("-/commit/{commit}"),
        "bitbucket.org" => format!("commits/{commit}"),
        _ => return None,
    };
    Some(format!("https://{host}/{path}/{page}"))
}

#[cfg(test)]
mod tests {
    use super::commit_url;

    #[test]
    fn commit_links_for_the_hosts_whose_pages_are_known() {
        let c = "0a1b2c3";
        for (remote, url) in [
            (
                "https://github.com/shop/web.git",
                "https://github.com/shop/web/commit/0a1b2c3",
            ),
            (
                "git@github.com:shop/web.git",
                "https://github.com/shop/web/commit/0a1b2c3",
            ),
            (
                "ssh://git@gitlab.com/group/sub/web",
                "https://gitlab.com/group/sub/web/-/commit/0a1b2c3",
            ),
            (
                "https://user@bitbucket.org/team/web.git",
                "https://bitbucket.org/team/web/commits/0a1b2c3",
            ),
        ] {
            assert_eq!(commit_url(remote, c).as_deref(), Some(url), "{remote}");
        }
        for remote in [
            "/srv/git/web.git",
            "https://git.example.com/shop/web",
            "https://github.com/shop",
            "",
        ] {
            assert_eq!(commit_url(remote, c), None, "{remote}");
        }
    }
}
