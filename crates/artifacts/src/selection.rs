//! Which files of a directory make up an artifact.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

use crate::digest::walk_error;
use crate::error::Error;
use crate::fsutil::special_kind;

/// Which files of a directory make up an artifact: everything, or the CodePipeline / buildspec
/// `files` globs with `base-directory`, `discard-paths` and `exclude-paths`.
#[derive(Debug, Clone)]
pub struct Selection {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    All,
    Globs {
        patterns: Vec<String>,
        include: GlobSet,
        base_directory: Option<PathBuf>,
        discard_paths: bool,
        exclude: GlobSet,
    },
}

/// What an entry of the planned artifact is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Dir,
    File,
    Symlink,
}

/// One entry of the artifact to build: where it comes from and where it goes inside the artifact.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub(crate) source: PathBuf,
    pub(crate) dest: PathBuf,
    pub(crate) kind: EntryKind,
}

impl Selection {
    /// Everything under the directory, including empty directories.
    pub fn all() -> Self {
        Selection { kind: Kind::All }
    }

    /// The files matched by `patterns` (CodePipeline `outputArtifacts[].files`, buildspec
    /// `artifacts.files`), relative to `base_directory` (buildspec `base-directory`) if given.
    ///
    /// `*` and `?` do not cross `/`; `**` does. A pattern that matches a directory selects
    /// everything under it. With `discard_paths`, files keep only their names (two files with one
    /// name is an error naming both). Files matching an `exclude` pattern, or inside a directory
    /// matching one, are left out. Patterns and the base directory that are absolute or have a
    /// `..` component are refused with [`Error::PathEscapes`].
    pub fn globs(
        patterns: Vec<String>,
        base_directory: Option<String>,
        discard_paths: bool,
        exclude: Vec<String>,
    ) -> Result<Self, Error> {
        let include = build_set(&patterns)?;
        let exclude = build_set(&exclude)?;
        let base_directory = match base_directory {
            Some(base) => {
                let trimmed = check_relative(&base)?;
                (!trimmed.is_empty()).then(|| PathBuf::from(trimmed))
            }
            None => None,
        };
        Ok(Selection {
            kind: Kind::Globs {
                patterns,
                include,
                base_directory,
                discard_paths,
                exclude,
            },
        })
    }

    /// The regular files selected from `dir`: where each is, and its path in the selection
    /// (after `base-directory` and `discard-paths`). For what reads files rather than storing
    /// them (test reports, cache paths); nothing selected is an empty list, not an error.
    pub fn files(&self, dir: &Path) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
        match self.plan(dir) {
            Ok(planned) => Ok(planned
                .into_iter()
                .filter(|p| p.kind == EntryKind::File)
                .map(|p| (p.source, p.dest))
                .collect()),
            Err(Error::NothingSelected { .. }) => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }

    /// Lists what the artifact built from `dir` holds. Refuses special files; symlinks are
    /// listed here and checked against the final layout by the caller.
    pub(crate) fn plan(&self, dir: &Path) -> Result<Vec<Planned>, Error> {
        match &self.kind {
            Kind::All => plan_all(dir),
            Kind::Globs {
                patterns,
                include,
                base_directory,
                discard_paths,
                exclude,
            } => {
                let base = match base_directory {
                    Some(b) => dir.join(b),
                    None => dir.to_owned(),
                };
                let planned = plan_globs(&base, include, exclude, *discard_paths)?;
                if planned.is_empty() {
                    return Err(Error::NothingSelected {
                        dir: base,
                        patterns: patterns.clone(),
                    });
                }
                Ok(planned)
            }
        }
    }
}

/// Refuses absolute patterns and `..` components; returns the pattern without a leading `./`.
fn check_relative(pattern: &str) -> Result<&str, Error> {
    let escapes = || Error::PathEscapes {
        pattern: pattern.to_owned(),
    };
    if pattern.starts_with('/') || pattern.starts_with('\\') {
        return Err(escapes());
    }
    // Splitting on both separators catches `..\x` too, which some tools would treat as a parent.
    if pattern.split(['/', '\\']).any(|part| part == "..") {
        return Err(escapes());
    }
    if Path::new(pattern).components().any(|c| {
        matches!(
            c,
            Component::ParentDir | Component::RootDir | Component::Prefix(_)
        )
    }) {
        return Err(escapes());
    }
    let mut trimmed = pattern;
    while let Some(rest) = trimmed.strip_prefix("./") {
        trimmed = rest;
    }
    Ok(trimmed.trim_end_matches('/'))
}

fn build_set(patterns: &[String]) -> Result<GlobSet, Error> {
    let mut set = GlobSetBuilder::new();
    for pattern in patterns {
        let trimmed = check_relative(pattern)?;
        let glob = GlobBuilder::new(trimmed)
            .literal_separator(true)
            .build()
            .map_err(|source| Error::InvalidGlob {
                pattern: pattern.clone(),
                source,
            })?;
        set.add(glob);
    }
    set.build().map_err(|source| Error::InvalidGlob {
        pattern: patterns.join(", "),
        source,
    })
}

/// A directory, a symlink or a regular file; anything else (a fifo, a socket, a device) is
/// refused, naming it.
fn entry_kind(entry: &walkdir::DirEntry) -> Result<EntryKind, Error> {
    let file_type = entry.file_type();
    if file_type.is_dir() {
        Ok(EntryKind::Dir)
    } else if file_type.is_symlink() {
        Ok(EntryKind::Symlink)
    } else if file_type.is_file() {
        Ok(EntryKind::File)
    } else {
        Err(Error::SpecialFile {
            path: entry.path().to_owned(),
            kind: special_kind(&file_type),
        })
    }
}

fn plan_all(dir: &Path) -> Result<Vec<Planned>, Error> {
    let mut planned = Vec::new();
    for entry in WalkDir::new(dir).min_depth(1).follow_links(false) {
        let entry = entry.map_err(|e| walk_error(e, dir))?;
        let rel = relative(entry.path(), dir)?;
        let kind = entry_kind(&entry)?;
        planned.push(Planned {
            source: entry.path().to_owned(),
            dest: rel,
            kind,
        });
    }
    Ok(planned)
}

fn plan_globs(
    base: &Path,
    include: &GlobSet,
    exclude: &GlobSet,
    discard_paths: bool,
) -> Result<Vec<Planned>, Error> {
    let meta = std::fs::metadata(base).map_err(Error::io("open base directory", base))?;
    if !meta.is_dir() {
        return Err(Error::Io {
            action: "open base directory",
            path: base.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    let mut planned = Vec::new();
    let mut names: HashMap<PathBuf, PathBuf> = HashMap::new();
    for entry in WalkDir::new(base).min_depth(1).follow_links(false) {
        let entry = entry.map_err(|e| walk_error(e, base))?;
        let file_type = entry.file_type();
        if file_type.is_dir() {
            continue;
        }
        let rel = relative(entry.path(), base)?;
        // A path is selected when it or one of its directories matches, so `dist` selects all of
        // `dist/`; the same rule for exclusions lets `node_modules` drop a whole directory.
        let matches = |set: &GlobSet| {
            rel.ancestors()
                .filter(|a| !a.as_os_str().is_empty())
                .any(|a| set.is_match(a))
        };
        if !matches(include) || matches(exclude) {
            continue;
        }
        let kind = entry_kind(&entry)?;
        let dest = if discard_paths {
            let name = PathBuf::from(entry.file_name());
            if let Some(first) = names.insert(name.clone(), entry.path().to_owned()) {
                return Err(Error::NameCollision {
                    name: name.to_string_lossy().into_owned(),
                    first,
                    second: entry.path().to_owned(),
                });
            }
            name
        } else {
            rel
        };
        planned.push(Planned {
            source: entry.path().to_owned(),
            dest,
            kind,
        });
    }
    Ok(planned)
}

fn relative(path: &Path, base: &Path) -> Result<PathBuf, Error> {
    path.strip_prefix(base)
        .map(Path::to_owned)
        .map_err(|_| Error::UnsupportedPath {
            path: path.to_owned(),
            reason: "it is not inside the directory being selected",
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escaping_patterns() {
        for bad in ["../x", "/etc/passwd", "a/../../b", "..", "a/..\\b"] {
            let err = Selection::globs(vec![bad.to_owned()], None, false, vec![])
                .expect_err("pattern must be refused");
            assert!(
                matches!(&err, Error::PathEscapes { pattern } if pattern == bad),
                "{err}"
            );
        }
        assert!(
            Selection::globs(vec!["**/*".into()], Some("../up".into()), false, vec![]).is_err()
        );
        assert!(Selection::globs(vec!["**/*".into()], None, false, vec!["/abs".into()]).is_err());
    }

    #[test]
    fn accepts_ordinary_patterns() {
        for good in [
            "**/*",
            "dist/**/*",
            "*.txt",
            "out/app.zip",
            "./build/*",
            "a..b",
        ] {
            Selection::globs(vec![good.to_owned()], None, false, vec![]).expect(good);
        }
    }
}
