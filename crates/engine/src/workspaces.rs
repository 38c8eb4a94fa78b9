//! The directories actions work in, kept for reuse. Creating and removing a directory for every
//! action is not free: on a file system mounted with `discard`, every removed directory waits for
//! the disk to discard its block. An emptied workspace is handed to the next action instead.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use pipewright_artifacts::ArtifactStore;

/// Spare workspaces kept at most; more than this were only needed for a burst of parallel
/// actions and are removed.
const MAX_SPARE: usize = 64;

#[derive(Debug)]
pub struct WorkspacePool {
    root: PathBuf,
    spare: Mutex<Vec<PathBuf>>,
    next: AtomicU64,
}

impl WorkspacePool {
    pub fn new(root: PathBuf) -> WorkspacePool {
        WorkspacePool {
            root,
            spare: Mutex::new(Vec::new()),
            next: AtomicU64::new(0),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// An empty directory for one action.
    pub fn take(&self) -> std::io::Result<PathBuf> {
        if let Some(dir) = self.spare.lock().ok().and_then(|mut spare| spare.pop()) {
            return Ok(dir);
        }
        let dir = self
            .root
            .join(format!("w{}", self.next.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Takes a workspace back once its action is done: emptied and kept, or removed.
    pub fn give_back(&self, dir: PathBuf) {
        if empty(&dir).is_ok()
            && let Ok(mut spare) = self.spare.lock()
            && spare.len() < MAX_SPARE
        {
            spare.push(dir);
            return;
        }
        // A mount the runner could not release, or a file it cannot delete: the thorough way.
        let _ = ArtifactStore::remove_workspace(&dir);
    }
}

/// Removes everything inside `dir`, leaving `dir` itself.
fn empty(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_returned_workspace_comes_back_empty() {
        let root = tempfile::tempdir().expect("tempdir");
        let pool = WorkspacePool::new(root.path().join("work"));
        let dir = pool.take().expect("workspace");
        std::fs::create_dir_all(dir.join("a/b")).expect("dirs");
        std::fs::write(dir.join("a/b/file"), "x").expect("file");
        std::fs::write(dir.join("top"), "y").expect("file");
        pool.give_back(dir.clone());
        let again = pool.take().expect("workspace");
        assert_eq!(again, dir);
        assert_eq!(std::fs::read_dir(&again).expect("read").count(), 0);
        let other = pool.take().expect("a second one");
        assert_ne!(other, dir);
    }
}
