//! Checks that symlinks stay inside their artifact.
//!
//! A target is resolved the way the kernel would resolve it, but confined to the artifact: `..`
//! may not climb above the artifact root, and when a component is itself a symlink inside the
//! artifact, its target is followed too. Following intermediate links matters: `a -> x/y/b/../..`
//! looks harmless lexically, but if `x/y/b` is a link to `../../z` the kernel would end up above the
//! root. Targets that do not exist are fine (a dangling link reveals nothing).

use std::ffi::OsString;
use std::fs;
use std::path::{Component, Path, PathBuf};

use walkdir::WalkDir;

use crate::digest::walk_error;
use crate::error::Error;

/// How many links one resolution may follow before it is treated as a loop, as in Linux.
const MAX_HOPS: u32 = 40;

/// A symlink found to leave the tree: its path relative to the tree root, and its target.
#[derive(Debug)]
pub(crate) struct Escape {
    pub(crate) link: PathBuf,
    pub(crate) target: PathBuf,
}

/// Returns `true` if `target`, read from a link in directory `link_dir` (relative to the
/// artifact root), resolves to a place inside the artifact. Only looks at the target lexically,
/// so it can run before the tree exists on disk; [`find_escape`] does the full check.
pub(crate) fn lexically_inside(link_dir: &Path, target: &Path) -> bool {
    let mut depth: usize = link_dir
        .components()
        .filter(|c| matches!(c, Component::Normal(_)))
        .count();
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Walks the tree at `root` and returns the first symlink whose target leaves it, if any.
pub(crate) fn find_escape(root: &Path) -> Result<Option<Escape>, Error> {
    for entry in WalkDir::new(root).min_depth(1).follow_links(false) {
        let entry = entry.map_err(|e| walk_error(e, root))?;
        if !entry.file_type().is_symlink() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .map_err(|_| Error::UnsupportedPath {
                path: entry.path().to_owned(),
                reason: "it is not inside the tree being checked",
            })?
            .to_owned();
        let target =
            fs::read_link(entry.path()).map_err(Error::io("read symlink", entry.path()))?;
        let start: Vec<OsString> = rel
            .parent()
            .map(|p| p.iter().map(|c| c.to_owned()).collect())
            .unwrap_or_default();
        let mut hops = 0;
        if resolve(root, start, &target, &mut hops).is_none() {
            return Ok(Some(Escape { link: rel, target }));
        }
    }
    Ok(None)
}

/// Resolves `target` starting in directory `stack` (components below `root`); `None` means the
/// resolution leaves the root or loops.
fn resolve(
    root: &Path,
    mut stack: Vec<OsString>,
    target: &Path,
    hops: &mut u32,
) -> Option<Vec<OsString>> {
    for component in target.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                stack.pop()?;
            }
            Component::RootDir | Component::Prefix(_) => return None,
            Component::Normal(name) => {
                stack.push(name.to_owned());
                let on_disk: PathBuf = std::iter::once(root.as_os_str().to_owned())
                    .chain(stack.iter().cloned())
                    .collect();
                let is_link = fs::symlink_metadata(&on_disk)
                    .map(|m| m.file_type().is_symlink())
                    .unwrap_or(false);
                if is_link {
                    *hops += 1;
                    if *hops > MAX_HOPS {
                        return None;
                    }
                    let inner = fs::read_link(&on_disk).ok()?;
                    stack.pop();
                    stack = resolve(root, stack, &inner, hops)?;
                }
            }
        }
    }
    Some(stack)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn lexical_check() {
        assert!(lexically_inside(Path::new("a/b"), Path::new("../c")));
        assert!(lexically_inside(Path::new("a"), Path::new("../c")));
        assert!(!lexically_inside(Path::new(""), Path::new("../c")));
        assert!(!lexically_inside(Path::new("a"), Path::new("/etc/passwd")));
        assert!(!lexically_inside(Path::new("a"), Path::new("x/../../..")));
    }

    #[test]
    fn follows_intermediate_links() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        fs::create_dir_all(root.join("x/y")).expect("mkdir");
        fs::create_dir_all(root.join("z")).expect("mkdir");
        symlink("../../z", root.join("x/y/b")).expect("symlink");
        assert!(find_escape(root).expect("walk").is_none());
        // Lexically `x/y/b/../..` is `x`, but `x/y/b` is `z`, so this climbs out of the root.
        symlink("x/y/b/../..", root.join("a")).expect("symlink");
        let escape = find_escape(root).expect("walk").expect("escape found");
        assert_eq!(escape.link, PathBuf::from("a"));
    }

    #[test]
    fn loops_are_refused_and_dangling_links_allowed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        symlink("missing/file", root.join("dangling")).expect("symlink");
        assert!(find_escape(root).expect("walk").is_none());
        symlink("l2", root.join("l1")).expect("symlink");
        symlink("l1", root.join("l2")).expect("symlink");
        assert!(find_escape(root).expect("walk").is_some());
    }
}
