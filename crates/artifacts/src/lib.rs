//! The immutable, content-addressed artifact store of Pipewright.
//!
//! An artifact, in CodePipeline's vocabulary, is a named tree of files that one action outputs and
//! later actions take as input. This crate stores such trees on disk and hands them to actions. It
//! knows files and trees only: executions, databases and async runtimes belong to other crates,
//! and every call here is plain blocking `std::fs` work (the engine runs it on `spawn_blocking`).
//!
//! # Layout
//!
//! ```text
//! <root>/objects/<64 hex>/   one immutable tree per artifact, named by its digest
//! <root>/tmp/<uuid>/         ingests in progress and handoff probes
//! <root>/tmp/trash-<uuid>/   released working copies, being deleted in the background
//! <root>/tmp/gc-<uuid>/      artifacts gc collects, moved out of objects/ and being deleted
//! <root>/gc.lock             flock: shared by ingests until recorded, exclusive for gc (`pin`)
//! ```
//!
//! An ingest copies the selected files into `tmp/<uuid>`, hashes the copy and renames it to
//! `objects/<hex>`. The rename is what publishes the artifact, so a crash leaves at worst a stray
//! directory under `tmp/` (which [`ArtifactStore::gc`] removes) and never half an artifact under
//! `objects/`. Identical trees hash to the same [`Digest`] and are stored once.
//!
//! The digest is a SHA-256 over a canonical listing of the tree: every entry in sorted
//! relative-path order with its kind, the executable bit of files, the SHA-256 of file contents
//! and the target of symlinks. Timestamps, owners and the other permission bits are left out, so
//! the same output built twice gets the same digest.
//!
//! # Handing an artifact to an action
//!
//! Actions need a *writable* copy of their input artifacts: build tools append to files, delete
//! them, chmod them. Whatever they do, the stored tree must not change, because other actions (and
//! retries of this one) read the same object. [`ArtifactStore::checkout`] uses one of three
//! mechanisms, chosen once when the store is opened ([`Handoff`]):
//!
//! * **Reflink** (btrfs, XFS, bcachefs): every file is cloned with `FICLONE`. The clone shares the
//!   stored file's blocks until one side writes, at which point the filesystem copies the written
//!   blocks. No bytes are copied at handoff, and the clone is a separate inode, so nothing done to
//!   it reaches the store.
//! * **Overlay** (needs root or `CAP_SYS_ADMIN`): the working copy is an overlayfs mount whose lower
//!   layer is the stored tree and whose upper layer is an empty directory next to it. The kernel
//!   copies a file up into the upper layer the first time it is opened for writing or its metadata
//!   changes; deletions become whiteouts in the upper layer. The lower layer is never written.
//!   The mount is `volatile` where the kernel allows it (5.10+): an ordinary overlay syncs the
//!   whole filesystem of its upper layer when unmounted, which made a release wait for every dirty
//!   page on the disk, and a working copy never needs to survive a crash.
//! * **Copy**: every file is copied. Always correct, and the only choice on filesystems such as
//!   ext4 when running unprivileged.
//!
//! [`Checkout::release`] is cheap too, whatever the action wrote: it detaches the overlay
//! (`MNT_DETACH`), removes the now empty mount point, and renames the rest (the overlay's upper and
//! work directories, or the copied tree) into `tmp/trash-<uuid>`, where a background thread of the
//! store deletes it. The working copy's path is free again when `release` returns.
//! [`ArtifactStore::wait_for_releases`] waits for the deletions, [`ArtifactStore::gc`] waits for
//! them and removes whatever a crash left in `tmp/`, and a working copy that cannot be renamed
//! there (one on another filesystem than the store) is deleted by `release` itself.
//!
//! [`ArtifactStore::open`] detects the mechanism by trying Reflink, then Overlay, on probe files in
//! `root/tmp`. Tests and users can force one; [`Handoff::from_env`] reads the [`HANDOFF_ENV`]
//! override for the caller to pass on. Forcing a mechanism the filesystem cannot do is an error
//! rather than a silent fallback, so a misconfigured machine is noticed.
//!
//! A hard link from the store into the working copy would be free, but it is not a working copy:
//! the link and the stored file are the same inode, so appending to it, truncating it or chmodding
//! it changes the stored artifact for everybody. Making stored files read-only does not help,
//! because actions often run as root, and root writes through any permission bits. Only a separate
//! inode (clone or copy) or a separate layer (overlay) keeps the store immutable.
//!
//! # Untrusted input
//!
//! Artifact paths come from buildspecs and from zip files downloaded from S3, so every path is
//! checked: patterns or zip entries that are absolute or climb out with `..` are refused, symlinks
//! whose target leaves the artifact are refused, and special files (fifos, sockets, devices) are
//! refused. Each refusal is an [`Error`] that names the offending pattern, file or entry.

mod digest;
mod error;
mod fsutil;
mod handoff;
mod mounts;
mod pin;
mod selection;
mod store;
mod symlinks;
mod zip;

pub use digest::Digest;
pub use error::Error;
pub use handoff::{HANDOFF_ENV, Handoff};
pub use pin::{GcLock, Pin};
pub use selection::Selection;
pub use store::{ArtifactStore, Checkout, GcReport, Ingested};
