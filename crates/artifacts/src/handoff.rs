//! The mechanisms that turn a stored tree into a writable working copy, and their detection.

use std::fmt;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::Error;
use crate::fsutil::{self, FileCopy};
use crate::mounts;

/// The environment variable that forces a mechanism (`reflink`, `overlay` or `copy`).
pub const HANDOFF_ENV: &str = "PIPEWRIGHT_HANDOFF";

/// How a stored artifact becomes an action's writable working copy. See the crate docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Handoff {
    /// Copy-on-write clones of every file (`FICLONE`): btrfs, XFS, bcachefs.
    Reflink,
    /// An overlayfs mount with the stored tree as its read-only lower layer.
    Overlay,
    /// A plain copy of every file.
    Copy,
}

impl Handoff {
    /// The lowercase name, as accepted by [`FromStr`] and [`HANDOFF_ENV`].
    pub fn as_str(self) -> &'static str {
        match self {
            Handoff::Reflink => "reflink",
            Handoff::Overlay => "overlay",
            Handoff::Copy => "copy",
        }
    }

    /// The mechanism forced by [`HANDOFF_ENV`], if the variable is set and not empty.
    pub fn from_env() -> Result<Option<Handoff>, Error> {
        match std::env::var(HANDOFF_ENV) {
            Ok(value) if !value.trim().is_empty() => value.trim().parse().map(Some),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(value)) => Err(Error::InvalidHandoff {
                value: value.to_string_lossy().into_owned(),
            }),
        }
    }
}

impl fmt::Display for Handoff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Handoff {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "reflink" => Ok(Handoff::Reflink),
            "overlay" => Ok(Handoff::Overlay),
            "copy" => Ok(Handoff::Copy),
            _ => Err(Error::InvalidHandoff {
                value: value.to_owned(),
            }),
        }
    }
}

/// Picks the mechanism for a store whose scratch directory is `tmp`: the forced one if it works,
/// otherwise the cheapest one that works. Also returns the overlay option set the kernel
/// accepted in the probe (see [`mounts::mount_overlay`]), for checkouts to start from.
pub(crate) fn choose(
    root: &Path,
    tmp: &Path,
    preferred: Option<Handoff>,
) -> Result<(Handoff, usize), Error> {
    let unavailable = |handoff, reason: String| Error::HandoffUnavailable {
        handoff,
        root: root.to_owned(),
        reason,
    };
    match preferred {
        Some(Handoff::Copy) => Ok((Handoff::Copy, mounts::BEST_OPTIONS)),
        Some(handoff) => match probe(tmp, handoff) {
            Ok(options) => Ok((handoff, options)),
            Err(e) => Err(unavailable(handoff, e.to_string())),
        },
        None => {
            for handoff in [Handoff::Reflink, Handoff::Overlay] {
                if let Ok(options) = probe(tmp, handoff) {
                    return Ok((handoff, options));
                }
            }
            Ok((Handoff::Copy, mounts::BEST_OPTIONS))
        }
    }
}

/// Whether `path` is a probe that a store opening in another process may be running now:
/// probes take milliseconds, so one older than a minute is what a crash left behind.
pub(crate) fn is_recent_probe(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("probe-"))
        && fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| {
                modified.elapsed().unwrap_or_default() < std::time::Duration::from_secs(60)
            })
}

/// Tries the mechanism for real on two small files under `tmp`, cleaning up in every case. For
/// Overlay, returns the option set the mount accepted.
fn probe(tmp: &Path, handoff: Handoff) -> Result<usize, Error> {
    let dir = tmp.join(format!("probe-{}-{}", handoff, uuid::Uuid::new_v4()));
    fs::create_dir(&dir).map_err(Error::io("create directory", &dir))?;
    let result = match handoff {
        Handoff::Reflink => probe_reflink(&dir).map(|()| mounts::BEST_OPTIONS),
        Handoff::Overlay => probe_overlay(&dir),
        Handoff::Copy => Ok(mounts::BEST_OPTIONS),
    };
    // The probe may have left a mount behind if it failed half-way.
    let _ = mounts::unmount(&dir.join("merged"));
    let _ = fsutil::remove_tree(&dir);
    result
}

fn probe_reflink(dir: &Path) -> Result<(), Error> {
    let src_path = dir.join("source");
    fs::write(&src_path, b"pipewright reflink probe").map_err(Error::io("write", &src_path))?;
    let src = File::open(&src_path).map_err(Error::io("open", &src_path))?;
    let dest_path = dir.join("clone");
    let dest = fsutil::create_new_file(&dest_path, 0o644)?;
    rustix::fs::ioctl_ficlone(&dest, &src).map_err(|e| Error::Io {
        action: "reflink (FICLONE) into",
        path: dest_path.clone(),
        source: e.into(),
    })
}

fn probe_overlay(dir: &Path) -> Result<usize, Error> {
    let [lower, upper, work, merged] = ["lower", "upper", "work", "merged"].map(|n| dir.join(n));
    for d in [&lower, &upper, &work, &merged] {
        fs::create_dir(d).map_err(Error::io("create directory", d))?;
    }
    let original = b"pipewright overlay probe";
    fs::write(lower.join("file"), original).map_err(Error::io("write", lower.join("file")))?;
    let options = mounts::mount_overlay(&lower, &upper, &work, &merged, mounts::BEST_OPTIONS)?;
    let through = merged.join("file");
    let written = fs::OpenOptions::new()
        .append(true)
        .open(&through)
        .and_then(|mut f| f.write_all(b" changed"))
        .map_err(Error::io("append to", &through));
    mounts::unmount(&merged)?;
    written?;
    // The whole point of the mechanism: a write through the mount must not reach the lower layer.
    let after = fs::read(lower.join("file")).map_err(Error::io("read", lower.join("file")))?;
    if after != original {
        return Err(Error::UnsupportedPath {
            path: lower,
            reason: "a write through the overlay changed the lower layer",
        });
    }
    Ok(options)
}

/// Where an overlay working copy keeps its upper and work directories: a hidden sibling of the
/// mount point, so both sit on the same filesystem as the workspace.
pub(crate) fn overlay_sibling(dest: &Path) -> Result<PathBuf, Error> {
    let name = dest.file_name().ok_or_else(|| Error::UnsupportedPath {
        path: dest.to_owned(),
        reason: "a checkout destination needs a final path component",
    })?;
    let mut sibling_name = std::ffi::OsString::from(".");
    sibling_name.push(name);
    sibling_name.push(".overlay");
    Ok(dest.with_file_name(sibling_name))
}

/// Materialises `tree` at `dest` with `handoff` and returns the overlay's sibling directory, if
/// any. `dest` is absolute and must not exist; for Overlay, neither may its sibling. On failure,
/// whatever this call created is removed again, and nothing that existed before is touched.
///
/// `overlay_options` is the overlay option set to start from; it is lowered if the kernel refuses
/// it for this mount (as it may for an upper layer on another filesystem than the probe's).
pub(crate) fn materialise(
    handoff: Handoff,
    tree: &Path,
    dest: &Path,
    overlay_options: &AtomicUsize,
) -> Result<Option<PathBuf>, Error> {
    match handoff {
        Handoff::Copy | Handoff::Reflink => {
            let how = if handoff == Handoff::Copy {
                FileCopy::Bytes
            } else {
                FileCopy::Reflink
            };
            create_fresh_dir(dest)?;
            let result = fsutil::set_mode(dest, fsutil::DIR_MODE)
                .and_then(|()| fsutil::copy_tree_into(tree, dest, how));
            if result.is_err() {
                let _ = fsutil::remove_tree(dest);
            }
            result.map(|()| None)
        }
        Handoff::Overlay => {
            let sibling = overlay_sibling(dest)?;
            create_fresh_dir(&sibling)?;
            let upper = sibling.join("upper");
            let work = sibling.join("work");
            let layers = fs::create_dir(&upper)
                .map_err(Error::io("create directory", &upper))
                .and_then(|()| fs::create_dir(&work).map_err(Error::io("create directory", &work)));
            if let Err(e) = layers.and_then(|()| create_fresh_dir(dest)) {
                let _ = fsutil::remove_tree(&sibling);
                return Err(e);
            }
            let first = overlay_options.load(Ordering::Relaxed);
            // The root of an overlay shows the mode of the upper directory (not of the mount
            // point), which is set like the root of a copied working copy, whatever the umask.
            let mounted = fsutil::set_mode(&upper, fsutil::DIR_MODE)
                .and_then(|()| mounts::mount_overlay(tree, &upper, &work, dest, first));
            match mounted {
                Ok(used) => {
                    if used != first {
                        overlay_options.fetch_max(used, Ordering::Relaxed);
                    }
                    Ok(Some(sibling))
                }
                Err(e) => {
                    let _ = fs::remove_dir(dest);
                    let _ = fsutil::remove_tree(&sibling);
                    Err(e)
                }
            }
        }
    }
}

/// Creates a directory that must not exist yet.
fn create_fresh_dir(path: &Path) -> Result<(), Error> {
    fs::create_dir(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::DestinationExists {
                path: path.to_owned(),
            }
        } else {
            Error::io("create directory", path)(e)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for h in [Handoff::Reflink, Handoff::Overlay, Handoff::Copy] {
            assert_eq!(h.to_string().parse::<Handoff>().expect("parses"), h);
        }
        assert!("hardlink".parse::<Handoff>().is_err());
        assert!("Copy".parse::<Handoff>().is_err());
    }

    #[test]
    fn overlay_sibling_is_hidden_next_to_dest() {
        let sibling = overlay_sibling(Path::new("/w/run/src")).expect("has a name");
        assert_eq!(sibling, PathBuf::from("/w/run/.src.overlay"));
    }
}
