//! Small filesystem helpers shared by ingest, checkout and garbage collection.

use std::fs::{self, File, FileType, OpenOptions};
use std::io;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use walkdir::WalkDir;

use crate::digest::walk_error;
use crate::error::Error;

/// Mode of every stored directory.
pub(crate) const DIR_MODE: u32 = 0o755;

/// The normalised mode of a stored file: readable by all, writable by the owner, and executable
/// by all if the original had any executable bit. Working copies then look like ordinary files.
pub(crate) fn file_mode(executable: bool) -> u32 {
    if executable { 0o755 } else { 0o644 }
}

/// Names a special file type for error messages.
pub(crate) fn special_kind(file_type: &FileType) -> &'static str {
    if file_type.is_fifo() {
        "fifo"
    } else if file_type.is_socket() {
        "socket"
    } else if file_type.is_block_device() {
        "block device"
    } else if file_type.is_char_device() {
        "character device"
    } else {
        "special file"
    }
}

/// Sets `mode` on `path` regardless of the umask.
pub(crate) fn set_mode(path: &Path, mode: u32) -> Result<(), Error> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(Error::io("chmod", path))
}

/// Creates a new file (never following or replacing an existing entry) for writing.
pub(crate) fn create_new_file(path: &Path, mode: u32) -> Result<File, Error> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(Error::io("create file", path))
}

/// Removes a tree, also when an action left directories without write or search permission
/// (which `remove_dir_all` cannot enter when not running as root). A missing path is not an error.
pub(crate) fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            make_dirs_writable(path);
            fs::remove_dir_all(path)
        }
        Err(e) => Err(e),
    }
}

fn make_dirs_writable(path: &Path) {
    // Walk top-down, fixing each directory before walkdir tries to read it; errors are ignored
    // because the retried removal reports whatever is still wrong.
    let mut walker = WalkDir::new(path).follow_links(false).into_iter();
    loop {
        match walker.next() {
            None => break,
            Some(Ok(entry)) if entry.file_type().is_dir() => {
                let _ = fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o700));
            }
            Some(_) => {}
        }
    }
}

/// Total size in bytes of the regular files under `path`, and the number of them.
pub(crate) fn tree_size(path: &Path) -> Result<(u64, u64), Error> {
    let mut files = 0;
    let mut bytes = 0;
    for entry in WalkDir::new(path).follow_links(false) {
        let entry = entry.map_err(|e| walk_error(e, path))?;
        if entry.file_type().is_file() {
            let meta = entry.metadata().map_err(|e| walk_error(e, path))?;
            files += 1;
            bytes += meta.len();
        }
    }
    Ok((files, bytes))
}

/// How [`copy_tree`] materialises each regular file.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FileCopy {
    /// Copies the bytes.
    Bytes,
    /// Clones the file with `FICLONE`, sharing its blocks copy-on-write.
    Reflink,
}

/// Recreates the contents of the stored tree `src` in the existing empty directory `dest`, with
/// the same modes.
pub(crate) fn copy_tree_into(src: &Path, dest: &Path, how: FileCopy) -> Result<(), Error> {
    for entry in WalkDir::new(src).min_depth(1).follow_links(false) {
        let entry = entry.map_err(|e| walk_error(e, src))?;
        let rel = entry
            .path()
            .strip_prefix(src)
            .map_err(|_| Error::UnsupportedPath {
                path: entry.path().to_owned(),
                reason: "it is not inside the tree being copied",
            })?;
        let target = dest.join(rel);
        let file_type = entry.file_type();
        if file_type.is_dir() {
            fs::create_dir(&target).map_err(Error::io("create directory", &target))?;
            set_mode(&target, DIR_MODE)?;
        } else if file_type.is_symlink() {
            let link =
                fs::read_link(entry.path()).map_err(Error::io("read symlink", entry.path()))?;
            std::os::unix::fs::symlink(&link, &target)
                .map_err(Error::io("create symlink", &target))?;
        } else if file_type.is_file() {
            let meta = entry.metadata().map_err(|e| walk_error(e, src))?;
            let mode = meta.permissions().mode() & 0o7777;
            copy_file(entry.path(), &target, mode, how)?;
        } else {
            return Err(Error::SpecialFile {
                path: entry.path().to_owned(),
                kind: special_kind(&file_type),
            });
        }
    }
    Ok(())
}

fn copy_file(src: &Path, dest: &Path, mode: u32, how: FileCopy) -> Result<(), Error> {
    let mut from = File::open(src).map_err(Error::io("open", src))?;
    let mut to = create_new_file(dest, mode)?;
    match how {
        FileCopy::Bytes => {
            io::copy(&mut from, &mut to).map_err(Error::io("copy into", dest))?;
        }
        FileCopy::Reflink => {
            rustix::fs::ioctl_ficlone(&to, &from).map_err(|e| Error::Io {
                action: "reflink (FICLONE) into",
                path: dest.to_owned(),
                source: e.into(),
            })?;
        }
    }
    // The umask may have cleared bits of `mode` at creation time.
    set_mode(dest, mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_tree_handles_missing_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        remove_tree(&dir.path().join("missing")).expect("missing path is fine");
    }

    #[test]
    fn remove_tree_removes_unwritable_directories() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tree = dir.path().join("t");
        fs::create_dir_all(tree.join("locked/inner")).expect("mkdir");
        fs::write(tree.join("locked/inner/f"), b"x").expect("write");
        set_mode(&tree.join("locked"), 0o500).expect("chmod");
        remove_tree(&tree).expect("remove");
        assert!(!tree.exists());
    }
}
