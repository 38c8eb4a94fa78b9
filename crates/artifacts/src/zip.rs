//! Conversion between stored trees and the zip files CodePipeline keeps in S3.

use std::fs::{self, File};
use std::io::{self, Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use ::zip::write::SimpleFileOptions;
use ::zip::{CompressionMethod, DateTime, ZipArchive, ZipWriter};
use walkdir::WalkDir;

use crate::digest::walk_error;
use crate::error::Error;
use crate::fsutil::{self, DIR_MODE, file_mode, special_kind};
use crate::symlinks;

const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;

/// The longest symlink target read from an archive; Linux allows 4095 bytes.
const MAX_LINK_TARGET: u64 = 4096;

/// Writes the tree at `tree` as a zip to `out`: '/'-separated paths relative to the tree, unix
/// modes kept, and a fixed timestamp so the same artifact always gives the same bytes.
pub(crate) fn export(tree: &Path, out: impl Write + Seek) -> Result<(), Error> {
    let zip_error = |source| Error::Zip {
        path: tree.to_owned(),
        source,
    };
    let mut writer = ZipWriter::new(out);
    let base = SimpleFileOptions::default().last_modified_time(DateTime::default());
    for entry in WalkDir::new(tree)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| walk_error(e, tree))?;
        let path = entry.path();
        let name = entry_name(tree, path)?;
        let file_type = entry.file_type();
        if file_type.is_dir() {
            writer
                .add_directory(format!("{name}/"), base.unix_permissions(DIR_MODE))
                .map_err(zip_error)?;
        } else if file_type.is_symlink() {
            let target = fs::read_link(path).map_err(Error::io("read symlink", path))?;
            let target = target.to_str().ok_or_else(|| Error::UnsupportedPath {
                path: path.to_owned(),
                reason: "zip entries need UTF-8 symlink targets",
            })?;
            writer.add_symlink(name, target, base).map_err(zip_error)?;
        } else if file_type.is_file() {
            let meta = entry.metadata().map_err(|e| walk_error(e, tree))?;
            let options = base
                .compression_method(CompressionMethod::Deflated)
                .unix_permissions(meta.permissions().mode() & 0o777)
                .large_file(meta.len() >= u64::from(u32::MAX));
            writer.start_file(name, options).map_err(zip_error)?;
            let mut file = File::open(path).map_err(Error::io("open", path))?;
            io::copy(&mut file, &mut writer).map_err(Error::io("read into zip", path))?;
        } else {
            return Err(Error::SpecialFile {
                path: path.to_owned(),
                kind: special_kind(&file_type),
            });
        }
    }
    writer.finish().map_err(zip_error)?;
    Ok(())
}

fn entry_name(tree: &Path, path: &Path) -> Result<String, Error> {
    let rel = path
        .strip_prefix(tree)
        .map_err(|_| Error::UnsupportedPath {
            path: path.to_owned(),
            reason: "it is not inside the tree being zipped",
        })?;
    let parts: Option<Vec<&str>> = rel.iter().map(|c| c.to_str()).collect();
    parts
        .map(|p| p.join("/"))
        .ok_or_else(|| Error::UnsupportedPath {
            path: path.to_owned(),
            reason: "zip entry names must be UTF-8",
        })
}

/// Extracts the zip at `zip_path` into the existing, empty directory `dest`, refusing every entry
/// that would land outside `dest` or leave a symlink pointing outside it.
pub(crate) fn import(zip_path: &Path, dest: &Path) -> Result<(), Error> {
    let file = File::open(zip_path).map_err(Error::io("open", zip_path))?;
    let mut archive = ZipArchive::new(file).map_err(|source| Error::Zip {
        path: zip_path.to_owned(),
        source,
    })?;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|source| Error::Zip {
            path: zip_path.to_owned(),
            source,
        })?;
        let raw = entry.name_raw().to_vec();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let refuse = |reason: String| Error::ZipEntryRefused {
            zip: zip_path.to_owned(),
            entry: name.clone(),
            reason,
        };
        let Some(rel) = safe_relative_path(&raw).map_err(|r| refuse(r.to_owned()))? else {
            continue;
        };
        prepare_parents(dest, &rel).map_err(&refuse)?;
        let target = dest.join(&rel);
        let kind = entry.unix_mode().map(|m| m & S_IFMT).unwrap_or(0);
        if entry.is_dir() || kind == S_IFDIR {
            match fs::symlink_metadata(&target) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Err(refuse("another entry has the same path".to_owned())),
                Err(_) => {
                    fs::create_dir(&target).map_err(Error::io("create directory", &target))?;
                    fsutil::set_mode(&target, DIR_MODE)?;
                }
            }
        } else if kind == S_IFLNK {
            let mut link = Vec::new();
            (&mut entry)
                .take(MAX_LINK_TARGET)
                .read_to_end(&mut link)
                .map_err(Error::io("read symlink entry of", zip_path))?;
            let link = PathBuf::from(std::ffi::OsStr::from_bytes(&link));
            let link_dir = rel.parent().unwrap_or(Path::new(""));
            if link.as_os_str().is_empty() || !symlinks::lexically_inside(link_dir, &link) {
                return Err(refuse(format!(
                    "it is a symlink to `{}`, which leaves the artifact",
                    link.display()
                )));
            }
            std::os::unix::fs::symlink(&link, &target)
                .map_err(|e| refuse(format!("cannot create symlink: {e}")))?;
        } else if kind == S_IFREG || kind == 0 {
            let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
            let mut out = fsutil::create_new_file(&target, file_mode(executable))
                .map_err(|e| refuse(format!("cannot create it (a duplicate entry?): {e}")))?;
            io::copy(&mut entry, &mut out).map_err(Error::io("extract into", &target))?;
            fsutil::set_mode(&target, file_mode(executable))?;
        } else {
            return Err(refuse(format!("it is a special file (mode {:o})", kind)));
        }
    }
    // The lexical check above cannot see links that go through other links; this one can.
    if let Some(escape) = symlinks::find_escape(dest)? {
        return Err(Error::ZipEntryRefused {
            zip: zip_path.to_owned(),
            entry: escape.link.display().to_string(),
            reason: format!(
                "it is a symlink to `{}`, which leaves the artifact through another symlink",
                escape.target.display()
            ),
        });
    }
    Ok(())
}

/// The entry's path as a relative path of normal components, `None` for the archive root itself,
/// or the reason it is refused. Backslashes count as separators, as some Windows tools write them.
fn safe_relative_path(raw: &[u8]) -> Result<Option<PathBuf>, &'static str> {
    if raw.contains(&0) {
        return Err("its name contains a NUL byte");
    }
    let is_drive = raw.len() >= 2 && raw[0].is_ascii_alphabetic() && raw[1] == b':';
    if raw.first().is_some_and(|b| *b == b'/' || *b == b'\\') || is_drive {
        return Err("it has an absolute path");
    }
    let mut rel = PathBuf::new();
    for part in raw.split(|b| *b == b'/' || *b == b'\\') {
        match part {
            b"" | b"." => {}
            b".." => return Err("its path has a `..` component"),
            normal => rel.push(std::ffi::OsStr::from_bytes(normal)),
        }
    }
    Ok((!rel.as_os_str().is_empty()).then_some(rel))
}

/// Creates the directories above `rel` inside `dest`, refusing to go through a symlink or a
/// file: an earlier entry `d -> /etc` must not let a later entry `d/passwd` write outside.
fn prepare_parents(dest: &Path, rel: &Path) -> Result<(), String> {
    let mut current = dest.to_owned();
    let parents: Vec<_> = rel.parent().map(|p| p.iter().collect()).unwrap_or_default();
    for part in parents {
        current.push(part);
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(format!(
                    "it lies under the symlink `{}`",
                    part.to_string_lossy()
                ));
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(format!(
                    "it lies under the file `{}`",
                    part.to_string_lossy()
                ));
            }
            Err(_) => {
                fs::create_dir(&current)
                    .map_err(|e| format!("cannot create its directory: {e}"))?;
                fs::set_permissions(&current, fs::Permissions::from_mode(DIR_MODE))
                    .map_err(|e| format!("cannot chmod its directory: {e}"))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_paths_are_checked() {
        assert_eq!(
            safe_relative_path(b"a/b.txt"),
            Ok(Some(PathBuf::from("a/b.txt")))
        );
        assert_eq!(
            safe_relative_path(b"./a//b/"),
            Ok(Some(PathBuf::from("a/b")))
        );
        assert_eq!(safe_relative_path(b"./"), Ok(None));
        assert!(safe_relative_path(b"../evil").is_err());
        assert!(safe_relative_path(b"a/../../evil").is_err());
        assert!(safe_relative_path(b"a\\..\\..\\evil").is_err());
        assert!(safe_relative_path(b"/abs").is_err());
        assert!(safe_relative_path(b"C:/abs").is_err());
    }
}
