//! The one error type of the crate. Every variant names what went wrong and where, because these
//! messages end up in front of a user looking at a failed pipeline run.

use std::io;
use std::path::PathBuf;

use crate::digest::Digest;
use crate::handoff::Handoff;

/// Everything that can go wrong in the artifact store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A filesystem operation failed.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        /// What was being done, e.g. "create directory".
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// A pattern, base directory or path is absolute or has a `..` component.
    #[error(
        "`{pattern}` is absolute or has a `..` component; artifact paths must stay inside the artifact"
    )]
    PathEscapes {
        /// The refused pattern or path, as written.
        pattern: String,
    },

    /// A symlink's target leaves the artifact (or is absolute, or loops).
    #[error("symlink {} points to `{}`, which leaves the artifact (or loops)", link.display(), target.display())]
    SymlinkEscapes {
        /// The link, as a path on disk or a zip entry name.
        link: PathBuf,
        /// The link's target as stored in the link.
        target: PathBuf,
    },

    /// A fifo, socket or device node was selected.
    #[error("{} is a {kind}; artifacts may hold only files, directories and symlinks", path.display())]
    SpecialFile {
        /// The special file.
        path: PathBuf,
        /// "fifo", "socket", "block device" or "character device".
        kind: &'static str,
    },

    /// `discard-paths` mapped two files to one name.
    #[error("discard-paths maps both {} and {} to `{name}`", first.display(), second.display())]
    NameCollision {
        /// The shared file name.
        name: String,
        /// The first file with that name.
        first: PathBuf,
        /// The second file with that name.
        second: PathBuf,
    },

    /// A glob pattern does not parse.
    #[error("invalid glob `{pattern}`: {source}")]
    InvalidGlob {
        /// The pattern, as written.
        pattern: String,
        /// Why it does not parse.
        #[source]
        source: globset::Error,
    },

    /// A selection matched no file.
    #[error("no file under {} matches {patterns:?}", dir.display())]
    NothingSelected {
        /// The directory searched (including any base directory).
        dir: PathBuf,
        /// The patterns that matched nothing.
        patterns: Vec<String>,
    },

    /// A string is not a valid digest.
    #[error("`{value}` is not a valid artifact digest: {reason}")]
    InvalidDigest {
        /// The refused string.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A string is not a handoff mechanism name.
    #[error("`{value}` is not a handoff mechanism; expected reflink, overlay or copy")]
    InvalidHandoff {
        /// The refused string.
        value: String,
    },

    /// A forced handoff mechanism does not work on the store's filesystem.
    #[error("handoff `{handoff}` is not available for the artifact store at {}: {reason}", root.display())]
    HandoffUnavailable {
        /// The mechanism asked for.
        handoff: Handoff,
        /// The store's root.
        root: PathBuf,
        /// Why the probe failed.
        reason: String,
    },

    /// No artifact with that digest is stored.
    #[error("artifact {digest} is not in the store at {}", root.display())]
    NotFound {
        /// The missing digest.
        digest: Digest,
        /// The store's root.
        root: PathBuf,
    },

    /// A checkout destination already exists.
    #[error("checkout destination {} already exists", path.display())]
    DestinationExists {
        /// The existing path.
        path: PathBuf,
    },

    /// A path cannot be represented where it has to go (a zip entry name, overlay mount options).
    #[error("path {} cannot be used here: {reason}", path.display())]
    UnsupportedPath {
        /// The path.
        path: PathBuf,
        /// Why it cannot be used.
        reason: &'static str,
    },

    /// Reading or writing a zip archive failed.
    #[error("zip archive {}: {source}", path.display())]
    Zip {
        /// The zip file, or the artifact tree being exported.
        path: PathBuf,
        /// The zip library's error.
        #[source]
        source: ::zip::result::ZipError,
    },

    /// A zip entry was refused because extracting it would be unsafe or meaningless.
    #[error("zip archive {}: entry `{entry}` refused: {reason}", zip.display())]
    ZipEntryRefused {
        /// The zip file.
        zip: PathBuf,
        /// The entry's name as stored in the archive.
        entry: String,
        /// Why it was refused.
        reason: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Io`], used with `map_err`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}
