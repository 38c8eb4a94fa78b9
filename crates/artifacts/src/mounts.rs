//! Overlay mounts: creating them, undoing them and finding the ones a dead process left behind.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::mount::{MountFlags, UnmountFlags};

use crate::error::Error;

/// The extra overlay options to try, best first. A kernel that does not know an option refuses
/// the mount with `EINVAL`, and the next, more conservative, set is tried.
///
/// * `redirect_dir=on` lets a process rename a directory that comes from the lower layer (without
///   it the kernel answers `EXDEV`, which `mv` handles but many programs do not). Linux 4.10+.
/// * `volatile` skips every sync of the upper layer, above all the one at unmount: without it,
///   unmounting an overlay runs `syncfs` on the whole filesystem of the upper layer, which waits
///   for every dirty page on that filesystem to reach the disk (tens or hundreds of milliseconds
///   on a busy build machine) although the working copy is about to be deleted. A crash loses
///   the unsynced upper layer, which is harmless: working copies do not outlive their action, and
///   [`crate::ArtifactStore::remove_workspace`] removes what a crash leaves. Linux 5.10+.
const OPTION_SETS: [&str; 4] = [
    ",redirect_dir=on,volatile",
    ",redirect_dir=on",
    ",volatile",
    "",
];

/// Index in the option sets to start from when nothing is known about the kernel.
pub(crate) const BEST_OPTIONS: usize = 0;

/// Mounts an overlay at `merged` with `lower` as its read-only layer. All paths must be absolute.
///
/// Tries the option sets from index `first` on (see [`OPTION_SETS`]) and returns the index of the
/// one the kernel accepted, for the caller to start from next time, so only the first mount (the
/// probe when the store is opened) pays for options the kernel does not know.
pub(crate) fn mount_overlay(
    lower: &Path,
    upper: &Path,
    work: &Path,
    merged: &Path,
    first: usize,
) -> Result<usize, Error> {
    for path in [lower, upper, work] {
        check_option_path(path)?;
    }
    let base = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    let mut index = first.min(OPTION_SETS.len() - 1);
    loop {
        match mount_with(merged, &format!("{base}{}", OPTION_SETS[index])) {
            Ok(()) => return Ok(index),
            Err(Errno::INVAL) if index + 1 < OPTION_SETS.len() => index += 1,
            Err(e) => {
                return Err(Error::Io {
                    action: "mount overlay at",
                    path: merged.to_owned(),
                    source: e.into(),
                });
            }
        }
    }
}

fn mount_with(merged: &Path, options: &str) -> Result<(), Errno> {
    // Paths were checked for the option separators; a NUL cannot occur in a path.
    let data = CString::new(options).map_err(|_| Errno::INVAL)?;
    rustix::mount::mount(
        "overlay",
        merged,
        "overlay",
        MountFlags::empty(),
        data.as_c_str(),
    )
}

/// The overlay option string splits on `,` and `:` and treats `\` as an escape, so paths holding
/// them would be misread; refusing them is clearer than getting escaping subtly wrong.
fn check_option_path(path: &Path) -> Result<(), Error> {
    let bytes = path.as_os_str().as_bytes();
    if bytes.iter().any(|b| matches!(b, b',' | b':' | b'\\')) {
        return Err(Error::UnsupportedPath {
            path: path.to_owned(),
            reason: "overlay mount options cannot hold paths with `,`, `:` or `\\`",
        });
    }
    Ok(())
}

/// Unmounts `target`, detaching it lazily if a process still uses it. A path that is not a mount
/// point is left alone.
pub(crate) fn unmount(target: &Path) -> Result<(), Error> {
    let result = match rustix::mount::unmount(target, UnmountFlags::NOFOLLOW) {
        Err(Errno::BUSY) => {
            rustix::mount::unmount(target, UnmountFlags::DETACH | UnmountFlags::NOFOLLOW)
        }
        other => other,
    };
    unmount_result(target, result)
}

/// Detaches the mount at `target` from the mount tree at once (`MNT_DETACH`), which is what
/// [`unmount`] ends up doing for a busy mount anyway, in one system call: the kernel tears the
/// mount down as soon as nobody uses it. A path that is not a mount point is left alone.
pub(crate) fn detach(target: &Path) -> Result<(), Error> {
    let result = rustix::mount::unmount(target, UnmountFlags::DETACH | UnmountFlags::NOFOLLOW);
    unmount_result(target, result)
}

fn unmount_result(target: &Path, result: Result<(), Errno>) -> Result<(), Error> {
    match result {
        Ok(()) | Err(Errno::INVAL) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(Error::Io {
            action: "unmount",
            path: target.to_owned(),
            source: e.into(),
        }),
    }
}

/// Mount points at or below `dir` (which must be canonical), deepest first, from
/// `/proc/self/mountinfo`.
pub(crate) fn mounts_under(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let info_path = Path::new("/proc/self/mountinfo");
    let info = std::fs::read(info_path).map_err(Error::io("read", info_path))?;
    let mut found: Vec<PathBuf> = parse_mount_points(&info)
        .into_iter()
        .filter(|p| p.starts_with(dir))
        .collect();
    // Unmounting children before parents; a deeper path has more components.
    found.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    found.dedup();
    Ok(found)
}

/// The fifth field of each mountinfo line is the mount point, with space, tab, newline and
/// backslash written as octal escapes.
fn parse_mount_points(info: &[u8]) -> Vec<PathBuf> {
    info.split(|b| *b == b'\n')
        .filter_map(|line| line.split(|b| *b == b' ').nth(4))
        .map(|field| PathBuf::from(OsString::from_vec(unescape(field))))
        .collect()
}

fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] == b'\\'
            && field.len() >= i + 4
            && field[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let value = field[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            out.push(u8::try_from(value).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(field[i]);
            i += 1;
        }
    }
    out
}

/// Whether `path` (canonical) is currently a mount point of this process's namespace. Asks
/// `statx` for `STATX_ATTR_MOUNT_ROOT` (Linux 5.8+), and reads `/proc/self/mountinfo` only on
/// kernels that cannot say.
pub(crate) fn is_mount_point(path: &Path) -> Result<bool, Error> {
    use rustix::fs::{AtFlags, CWD, StatxAttributes, StatxFlags};
    match rustix::fs::statx(
        CWD,
        path,
        AtFlags::SYMLINK_NOFOLLOW | AtFlags::NO_AUTOMOUNT,
        StatxFlags::empty(),
    ) {
        Ok(stat)
            if stat
                .stx_attributes_mask
                .contains(StatxAttributes::MOUNT_ROOT) =>
        {
            Ok(stat.stx_attributes.contains(StatxAttributes::MOUNT_ROOT))
        }
        Err(Errno::NOENT) => Ok(false),
        Ok(_) | Err(_) => Ok(mounts_under(path)?.iter().any(|p| p == path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_escaped_mount_points() {
        let info =
            b"36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext3 /dev/root rw\n\
                     37 35 0:5 / /proc rw - proc proc rw\n";
        assert_eq!(
            parse_mount_points(info),
            vec![PathBuf::from("/mnt/with space"), PathBuf::from("/proc")]
        );
    }

    #[test]
    fn unescape_leaves_plain_backslashes() {
        assert_eq!(unescape(b"a\\134b"), b"a\\b");
        assert_eq!(unescape(b"a\\9"), b"a\\9");
        assert_eq!(unescape(b"end\\"), b"end\\");
    }
}
