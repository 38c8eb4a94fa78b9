//! Overlay mounts: creating them, undoing them and finding the ones a dead process left behind.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::mount::{MountFlags, UnmountFlags};

use crate::error::Error;

/// Mounts an overlay at `merged` with `lower` as its read-only layer. All paths must be absolute.
///
/// `redirect_dir=on` lets a process rename a directory that comes from the lower layer (without
/// it the kernel answers `EXDEV`, which `mv` handles but many programs do not). Kernels that do not
/// know the option get a second attempt without it.
pub(crate) fn mount_overlay(
    lower: &Path,
    upper: &Path,
    work: &Path,
    merged: &Path,
) -> Result<(), Error> {
    for path in [lower, upper, work] {
        check_option_path(path)?;
    }
    let base = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        upper.display(),
        work.display()
    );
    let with_redirect = format!("{base},redirect_dir=on");
    match mount_with(merged, &with_redirect) {
        Err(Errno::INVAL) => mount_with(merged, &base),
        other => other,
    }
    .map_err(|e| Error::Io {
        action: "mount overlay at",
        path: merged.to_owned(),
        source: e.into(),
    })
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

/// Whether `path` (canonical) is currently a mount point of this process's namespace.
pub(crate) fn is_mount_point(path: &Path) -> Result<bool, Error> {
    Ok(mounts_under(path)?.iter().any(|p| p == path))
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
