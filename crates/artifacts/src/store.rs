//! The store itself: ingest, checkout, zip conversion and garbage collection.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::digest::{Digest, hash_tree};
use crate::error::Error;
use crate::fsutil::{self, DIR_MODE, file_mode};
use crate::handoff::{self, Handoff};
use crate::mounts;
use crate::pin::{self, GcLock, Pin};
use crate::selection::{EntryKind, Selection};
use crate::symlinks;

/// The content-addressed artifact store rooted at one directory. Cheap to clone; clones share
/// their state.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    root: PathBuf,
    handoff: Handoff,
    /// The overlay option set checkouts start from (see `mounts::mount_overlay`).
    overlay_options: AtomicUsize,
    /// Scratch directories of ingests in progress in this process, and released working copies
    /// the reaper has yet to remove, which `gc` must not remove.
    active_tmp: Mutex<HashSet<PathBuf>>,
    /// Released working copies waiting for removal, see [`ArtifactStore::discard`].
    reaper: Mutex<Reaper>,
    /// Signalled when the reaper thread has emptied its queue and stopped.
    reaper_idle: Condvar,
}

/// The queue of the reaper thread, which removes released working copies in the background.
#[derive(Debug, Default)]
struct Reaper {
    queue: Vec<PathBuf>,
    /// Whether a reaper thread is running; it is whenever `queue` is not empty.
    running: bool,
}

/// What an ingest stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingested {
    /// The artifact's digest.
    pub digest: Digest,
    /// How many regular files it holds.
    pub files: u64,
    /// The total size of those files.
    pub bytes: u64,
    /// Keeps `gc` from collecting the artifact until this is dropped: keep it until whatever
    /// references the artifact is recorded.
    pub pin: Pin,
}

/// What a garbage collection removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Artifacts removed.
    pub removed: u64,
    /// Bytes of regular files removed, artifacts and leftover scratch directories together.
    pub bytes: u64,
    /// Leftover scratch directories (interrupted ingests and probes, released working copies
    /// whose deletion an ended process did not finish) removed.
    pub temp_dirs: u64,
}

/// A writable working copy of an artifact. Release it with [`Checkout::release`]; dropping it
/// releases it too, but silently ignores errors.
#[derive(Debug)]
pub struct Checkout {
    path: PathBuf,
    /// The overlay's upper and work directories, for Overlay checkouts.
    overlay: Option<PathBuf>,
    /// The store, whose reaper removes the working copy after the release.
    store: ArtifactStore,
    released: bool,
}

impl ArtifactStore {
    /// Opens the store at `root`, creating its directories if needed, and settles the handoff
    /// mechanism: `preferred` if given (an error if the filesystem cannot do it), otherwise the
    /// first of Reflink, Overlay and Copy that works, found by trying each in `root/tmp`.
    pub fn open(root: &Path, preferred: Option<Handoff>) -> Result<Self, Error> {
        fs::create_dir_all(root).map_err(Error::io("create directory", root))?;
        // Overlay options and mountinfo comparisons need absolute, symlink-free paths.
        let root = fs::canonicalize(root).map_err(Error::io("resolve", root))?;
        for dir in [root.join("objects"), root.join("tmp")] {
            fs::create_dir_all(&dir).map_err(Error::io("create directory", &dir))?;
        }
        let (handoff, overlay_options) = handoff::choose(&root, &root.join("tmp"), preferred)?;
        Ok(ArtifactStore {
            inner: Arc::new(Inner {
                root,
                handoff,
                overlay_options: AtomicUsize::new(overlay_options),
                active_tmp: Mutex::new(HashSet::new()),
                reaper: Mutex::new(Reaper::default()),
                reaper_idle: Condvar::new(),
            }),
        })
    }

    /// The mechanism checkouts use.
    pub fn handoff(&self) -> Handoff {
        self.inner.handoff
    }

    /// The store's root directory (canonical).
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    fn objects(&self) -> PathBuf {
        self.inner.root.join("objects")
    }

    fn object_path(&self, digest: &Digest) -> PathBuf {
        self.objects().join(digest.hex())
    }

    /// Stores the files of `dir` chosen by `selection` as an immutable artifact. Identical trees
    /// get the same digest and are stored once.
    pub fn ingest(&self, dir: &Path, selection: &Selection) -> Result<Ingested, Error> {
        let planned = selection.plan(dir)?;
        let pin = pin::pin(&self.inner.root)?;
        let scratch = self.scratch()?;
        let mut link_sources = HashMap::new();
        for entry in &planned {
            let target = scratch.path.join(&entry.dest);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(Error::io("create directory", parent))?;
            }
            match entry.kind {
                EntryKind::Dir => {
                    fs::create_dir_all(&target).map_err(Error::io("create directory", &target))?;
                }
                EntryKind::File => {
                    let meta = fs::metadata(&entry.source)
                        .map_err(Error::io("read metadata of", &entry.source))?;
                    let mode = file_mode(
                        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0,
                    );
                    // `fs::copy` lets the kernel copy (or, on copy-on-write filesystems, clone)
                    // the data; the mode is normalised right after.
                    fs::copy(&entry.source, &target)
                        .map_err(Error::io("copy into the store", &entry.source))?;
                    fsutil::set_mode(&target, mode)?;
                }
                EntryKind::Symlink => {
                    let link = fs::read_link(&entry.source)
                        .map_err(Error::io("read symlink", &entry.source))?;
                    let link_dir = entry.dest.parent().unwrap_or(Path::new(""));
                    if !symlinks::lexically_inside(link_dir, &link) {
                        return Err(Error::SymlinkEscapes {
                            link: entry.source.clone(),
                            target: link,
                        });
                    }
                    std::os::unix::fs::symlink(&link, &target)
                        .map_err(Error::io("create symlink", &target))?;
                    link_sources.insert(entry.dest.clone(), entry.source.clone());
                }
            }
        }
        if let Some(escape) = symlinks::find_escape(&scratch.path)? {
            return Err(Error::SymlinkEscapes {
                link: link_sources.remove(&escape.link).unwrap_or(escape.link),
                target: escape.target,
            });
        }
        self.publish(scratch, pin)
    }

    /// Stores the contents of the zip at `zip_path` as an artifact. Entries with absolute paths,
    /// `..` components or symlinks leaving the artifact are refused, and nothing is stored then.
    pub fn import_zip(&self, zip_path: &Path) -> Result<Ingested, Error> {
        let pin = pin::pin(&self.inner.root)?;
        let scratch = self.scratch()?;
        crate::zip::import(zip_path, &scratch.path)?;
        self.publish(scratch, pin)
    }

    /// Writes the artifact as the zip CodePipeline puts in S3.
    pub fn export_zip(&self, digest: &Digest, out: impl Write + Seek) -> Result<(), Error> {
        let tree = self.tree(digest)?;
        crate::zip::export(&tree, out)
    }

    /// Normalises, hashes and publishes a finished scratch tree.
    fn publish(&self, scratch: Scratch<'_>, pin: Pin) -> Result<Ingested, Error> {
        fsutil::set_mode(&scratch.path, DIR_MODE)?;
        for entry in walkdir::WalkDir::new(&scratch.path)
            .min_depth(1)
            .follow_links(false)
        {
            let entry = entry.map_err(|e| crate::digest::walk_error(e, &scratch.path))?;
            if entry.file_type().is_dir() {
                fsutil::set_mode(entry.path(), DIR_MODE)?;
            }
        }
        let digest = hash_tree(&scratch.path)?;
        let (files, bytes) = fsutil::tree_size(&scratch.path)?;
        let object = self.object_path(&digest);
        // The rename publishes the whole tree at once. If the object exists already (the same
        // tree was stored before, perhaps concurrently), the rename fails and the copy is dropped.
        if let Err(e) = fs::rename(&scratch.path, &object)
            && !object.is_dir()
        {
            return Err(Error::Io {
                action: "publish an artifact at",
                path: object,
                source: e,
            });
        }
        drop(scratch);
        Ok(Ingested {
            digest,
            files,
            bytes,
            pin,
        })
    }

    /// A fresh scratch directory under `tmp/`, registered so `gc` leaves it alone and removed
    /// when dropped (after a successful publish there is nothing left to remove).
    fn scratch(&self) -> Result<Scratch<'_>, Error> {
        let path = self
            .inner
            .root
            .join("tmp")
            .join(uuid::Uuid::new_v4().to_string());
        fs::create_dir(&path).map_err(Error::io("create directory", &path))?;
        self.active().insert(path.clone());
        Ok(Scratch { store: self, path })
    }

    fn active(&self) -> MutexGuard<'_, HashSet<PathBuf>> {
        self.inner.active()
    }

    /// A writable working copy of `digest` at `dest`, which must not exist (its parent must).
    /// Nothing done in the working copy reaches the stored artifact.
    pub fn checkout(&self, digest: &Digest, dest: &Path) -> Result<Checkout, Error> {
        let tree = self.tree(digest)?;
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let parent = fs::canonicalize(&parent).map_err(Error::io("resolve the parent of", dest))?;
        let name = dest.file_name().ok_or_else(|| Error::UnsupportedPath {
            path: dest.to_owned(),
            reason: "a checkout destination needs a final path component",
        })?;
        let dest = parent.join(name);
        if fs::symlink_metadata(&dest).is_ok() {
            return Err(Error::DestinationExists { path: dest });
        }
        let overlay = handoff::materialise(
            self.inner.handoff,
            &tree,
            &dest,
            &self.inner.overlay_options,
        )?;
        Ok(Checkout {
            path: dest,
            overlay,
            store: self.clone(),
            released: false,
        })
    }

    /// Path of the stored, read-only tree of `digest`. Read from it; never write to it.
    pub fn tree(&self, digest: &Digest) -> Result<PathBuf, Error> {
        let path = self.object_path(digest);
        if path.is_dir() {
            Ok(path)
        } else {
            Err(Error::NotFound {
                digest: digest.clone(),
                root: self.inner.root.clone(),
            })
        }
    }

    /// Whether `digest` is stored.
    pub fn contains(&self, digest: &Digest) -> bool {
        self.object_path(digest).is_dir()
    }

    /// Re-hashes the stored tree of `digest` and says whether it still matches its name.
    pub fn verify(&self, digest: &Digest) -> Result<bool, Error> {
        Ok(hash_tree(&self.tree(digest)?)? == *digest)
    }

    /// Every digest stored, sorted.
    pub fn list(&self) -> Result<Vec<Digest>, Error> {
        let objects = self.objects();
        let mut digests = Vec::new();
        for entry in fs::read_dir(&objects).map_err(Error::io("list", &objects))? {
            let entry = entry.map_err(Error::io("list", &objects))?;
            // Anything that is not named like an object is not one; it is skipped, not an error.
            if let Some(digest) = entry
                .file_name()
                .to_str()
                .and_then(|hex| format!("sha256:{hex}").parse::<Digest>().ok())
            {
                digests.push(digest);
            }
        }
        digests.sort();
        Ok(digests)
    }

    /// The exclusive hold [`ArtifactStore::gc`] needs, or None while an ingest somewhere holds
    /// its [`Pin`]. Take it before reading which artifacts are referenced.
    pub fn try_lock_for_gc(&self) -> Result<Option<GcLock>, Error> {
        pin::try_lock_for_gc(&self.inner.root)
    }

    /// Removes every stored artifact not in `keep`, and scratch directories left by interrupted
    /// ingests and by released working copies whose removal did not finish (see
    /// [`Checkout::release`]). Waits first for the removal of working copies released in this
    /// process. `keep` must be read after `lock` was taken, and hold every artifact that is
    /// referenced or that a live checkout uses. The lock is held only while what goes is moved
    /// out of the way, one rename each; ingests (in any process) wait for no deletion.
    pub fn gc(&self, keep: &HashSet<Digest>, lock: GcLock) -> Result<GcReport, Error> {
        self.wait_for_releases();
        let tmp = self.inner.root.join("tmp");
        // Listed first, so the objects moved there below are not counted as leftovers. No
        // ingest runs meanwhile, so none of these is a scratch directory in use.
        let active = self.active().clone();
        let mut leftovers = Vec::new();
        for entry in fs::read_dir(&tmp).map_err(Error::io("list", &tmp))? {
            let path = entry.map_err(Error::io("list", &tmp))?.path();
            if !active.contains(&path) && !handoff::is_recent_probe(&path) {
                leftovers.push(path);
            }
        }
        let mut doomed = Vec::new();
        for digest in self.list()? {
            if keep.contains(&digest) {
                continue;
            }
            let object = self.object_path(&digest);
            let trash = tmp.join(format!("gc-{}", uuid::Uuid::new_v4()));
            fs::rename(&object, &trash).map_err(Error::io("move away", &object))?;
            doomed.push(trash);
        }
        drop(lock);
        let mut report = GcReport::default();
        for path in doomed {
            let (_, bytes) = fsutil::tree_size(&path)?;
            fsutil::remove_tree(&path).map_err(Error::io("remove", &path))?;
            report.removed += 1;
            report.bytes += bytes;
        }
        for path in leftovers {
            // A probe interrupted by a crash may still have its overlay mounted.
            for mount in mounts::mounts_under(&path)? {
                mounts::unmount(&mount)?;
            }
            let (_, bytes) = fsutil::tree_size(&path).unwrap_or((0, 0));
            // Another process's reaper may be removing the same trash right now.
            if let Err(e) = fsutil::remove_tree(&path)
                && fs::symlink_metadata(&path).is_ok()
            {
                return Err(Error::io("remove", &path)(e));
            }
            report.temp_dirs += 1;
            report.bytes += bytes;
        }
        Ok(report)
    }

    /// Unmounts the overlay mounts a dead process left at or under `dir` (as listed in
    /// `/proc/self/mountinfo`), then removes `dir`. A missing `dir` is not an error.
    pub fn remove_workspace(dir: &Path) -> Result<(), Error> {
        let dir = match fs::canonicalize(dir) {
            Ok(dir) => dir,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(Error::io("resolve", dir)(e)),
        };
        for mount in mounts::mounts_under(&dir)? {
            mounts::unmount(&mount)?;
        }
        fsutil::remove_tree(&dir).map_err(Error::io("remove", &dir))
    }
}

impl ArtifactStore {
    /// Blocks until the working copies released so far in this process are removed from disk.
    /// [`Checkout::release`] leaves that removal to a background thread; [`ArtifactStore::gc`]
    /// calls this first.
    pub fn wait_for_releases(&self) {
        let mut reaper = self.inner.reaper();
        while reaper.running {
            reaper = self
                .inner
                .reaper_idle
                .wait(reaper)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Unmounts (Overlay) and discards a working copy.
    fn release(&self, path: &Path, overlay: Option<&Path>) -> Result<(), Error> {
        let Some(sibling) = overlay else {
            return self.discard(path);
        };
        // A lazy unmount: one system call, which returns at once even if a process the action
        // left behind still uses the working copy. The overlay is mounted `volatile`, so its
        // teardown does not sync the upper layer's filesystem either.
        mounts::detach(path)?;
        // Removing the mount point only once it is no longer a mount point: deleting through a
        // live overlay would only write whiteouts to the upper layer, and leave the mount.
        if mounts::is_mount_point(path)? {
            return Err(Error::Io {
                action: "unmount",
                path: path.to_owned(),
                source: std::io::Error::other("still mounted after unmount"),
            });
        }
        // Everything the action wrote went to the upper layer, so the mount point is the empty
        // directory `checkout` created, which `rmdir` removes at once.
        match fs::remove_dir(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(_) => self.discard(path)?,
        }
        self.discard(sibling)
    }

    /// Removes the tree at `path`, leaving the work to the background: the tree is renamed into
    /// `tmp/` (one system call), where the reaper thread removes it. What the reaper cannot
    /// remove, or never gets to because the process ended, [`ArtifactStore::gc`] removes. A tree
    /// that cannot be renamed there (on another filesystem than the store, say) is removed here
    /// and now. A missing `path` is not an error.
    fn discard(&self, path: &Path) -> Result<(), Error> {
        let trash = self
            .inner
            .root
            .join("tmp")
            .join(format!("trash-{}", uuid::Uuid::new_v4()));
        // Registered before it exists, so a concurrent `gc` never removes it under the reaper.
        self.active().insert(trash.clone());
        match fs::rename(path, &trash) {
            Ok(()) => {
                Inner::queue_removal(&self.inner, trash);
                Ok(())
            }
            Err(e) => {
                self.active().remove(&trash);
                if e.kind() == std::io::ErrorKind::NotFound {
                    return Ok(());
                }
                fsutil::remove_tree(path).map_err(Error::io("remove", path))
            }
        }
    }
}

impl Inner {
    fn active(&self) -> MutexGuard<'_, HashSet<PathBuf>> {
        // A panic while holding the lock leaves the set consistent, so poisoning is ignored.
        self.active_tmp.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reaper(&self) -> MutexGuard<'_, Reaper> {
        // The queue and flag are consistent at every unlock, so poisoning is ignored.
        self.reaper.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues the registered scratch directory `trash` for removal, starting the reaper thread if
    /// it is not running. If no thread can be started, the queue is emptied here.
    fn queue_removal(inner: &Arc<Inner>, trash: PathBuf) {
        let mut reaper = inner.reaper();
        reaper.queue.push(trash);
        if reaper.running {
            return;
        }
        let for_thread = Arc::clone(inner);
        let spawned = std::thread::Builder::new()
            .name("pipewright-artifacts-reaper".to_owned())
            .spawn(move || for_thread.reap());
        match spawned {
            Ok(_) => reaper.running = true,
            Err(_) => {
                let queue = std::mem::take(&mut reaper.queue);
                drop(reaper);
                for path in queue {
                    inner.remove_trash(&path);
                }
            }
        }
    }

    /// The reaper thread: removes queued trees until the queue is empty, then stops. Seeing the
    /// queue empty and marking the reaper stopped happen under one lock, so a tree queued at that
    /// moment either is seen here or starts a new thread.
    fn reap(&self) {
        /// Marks the reaper stopped and wakes waiters if the thread panics, so neither
        /// [`ArtifactStore::wait_for_releases`] hangs nor later releases wait for a dead thread.
        struct OnPanic<'a>(&'a Inner);
        impl Drop for OnPanic<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    let mut reaper = self.0.reaper();
                    reaper.running = false;
                    // What is still queued is unregistered and left for `gc`.
                    for path in std::mem::take(&mut reaper.queue) {
                        self.0.active().remove(&path);
                    }
                    self.0.reaper_idle.notify_all();
                }
            }
        }
        let _on_panic = OnPanic(self);
        loop {
            let next = {
                let mut reaper = self.reaper();
                match reaper.queue.pop() {
                    Some(path) => path,
                    None => {
                        reaper.running = false;
                        self.reaper_idle.notify_all();
                        return;
                    }
                }
            };
            self.remove_trash(&next);
        }
    }

    /// Removes a discarded tree and unregisters it. Errors are left for `gc`, which removes
    /// whatever is left in `tmp/` and reports what it cannot.
    fn remove_trash(&self, path: &Path) {
        let _ = fsutil::remove_tree(path);
        self.active().remove(path);
    }
}

/// A scratch directory that removes itself unless it was renamed away.
struct Scratch<'a> {
    store: &'a ArtifactStore,
    path: PathBuf,
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        let _ = fsutil::remove_tree(&self.path);
        self.store.active().remove(&self.path);
    }
}

impl Checkout {
    /// The writable directory the action works in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Unmounts (Overlay) and removes the working copy. Its path (and an overlay's hidden
    /// sibling holding the upper and work directories) are gone when this returns; deleting the
    /// files is left to a background thread of the store (see
    /// [`ArtifactStore::wait_for_releases`]), so the release costs a few system calls whatever
    /// the action wrote.
    pub fn release(mut self) -> Result<(), Error> {
        self.released = true;
        self.store.release(&self.path, self.overlay.as_deref())
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if !self.released {
            let _ = self.store.release(&self.path, self.overlay.as_deref());
        }
    }
}
