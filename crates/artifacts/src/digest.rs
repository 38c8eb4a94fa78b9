//! Artifact digests and the canonical hash of a tree.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};
use walkdir::WalkDir;

use crate::error::Error;
use crate::fsutil::special_kind;

const PREFIX: &str = "sha256:";

/// The content address of an artifact: `sha256:` followed by 64 lowercase hex digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    /// The full digest, `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits alone; this is the object's directory name in the store.
    pub fn hex(&self) -> &str {
        &self.0[PREFIX.len()..]
    }

    /// Hashes the tree under `dir` the way the store does. The tree may hold only directories,
    /// regular files and symlinks.
    pub fn of_tree(dir: &Path) -> Result<Digest, Error> {
        hash_tree(dir)
    }

    fn from_sha256(bytes: &[u8]) -> Digest {
        Digest(format!("{PREFIX}{}", to_hex(bytes)))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.0)
    }
}

impl FromStr for Digest {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let invalid = |reason| Error::InvalidDigest {
            value: value.to_owned(),
            reason,
        };
        let hex = value
            .strip_prefix(PREFIX)
            .ok_or_else(|| invalid("it does not start with `sha256:`"))?;
        if hex.len() != 64 {
            return Err(invalid("it does not have 64 hex digits after `sha256:`"));
        }
        if !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid("it has characters other than lowercase hex digits"));
        }
        Ok(Digest(value.to_owned()))
    }
}

impl TryFrom<String> for Digest {
    type Error = Error;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Digest> for String {
    fn from(digest: Digest) -> String {
        digest.0
    }
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// One entry of the canonical listing.
enum Kind {
    Dir,
    File { executable: bool, content: Vec<u8> },
    Symlink { target: Vec<u8> },
}

/// Computes the digest of the tree under `root`.
///
/// The canonical listing starts with a version tag, then holds, for every entry below the root in
/// byte-wise sorted relative-path order, a kind tag and the length-prefixed path, followed by the
/// executable bit and content hash (files) or the length-prefixed target (symlinks). Length
/// prefixes keep two different listings from ever producing the same byte stream.
pub(crate) fn hash_tree(root: &Path) -> Result<Digest, Error> {
    let mut entries: Vec<(Vec<u8>, Kind)> = Vec::new();
    for entry in WalkDir::new(root).min_depth(1).follow_links(false) {
        let entry = entry.map_err(|e| walk_error(e, root))?;
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .map_err(|_| Error::UnsupportedPath {
                path: path.to_owned(),
                reason: "it is not inside the tree being hashed",
            })?
            .as_os_str()
            .as_bytes()
            .to_vec();
        let file_type = entry.file_type();
        let kind = if file_type.is_dir() {
            Kind::Dir
        } else if file_type.is_symlink() {
            let target = std::fs::read_link(path).map_err(Error::io("read symlink", path))?;
            Kind::Symlink {
                target: target.into_os_string().into_vec(),
            }
        } else if file_type.is_file() {
            let meta = entry.metadata().map_err(|e| walk_error(e, root))?;
            Kind::File {
                executable: meta.permissions().mode() & 0o111 != 0,
                content: hash_file(path)?,
            }
        } else {
            return Err(Error::SpecialFile {
                path: path.to_owned(),
                kind: special_kind(&file_type),
            });
        };
        entries.push((rel, kind));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let mut listing = Sha256::new();
    listing.update(b"pipewright-tree-v1\n");
    for (rel, kind) in &entries {
        let tag: &[u8] = match kind {
            Kind::Dir => b"d",
            Kind::File { .. } => b"f",
            Kind::Symlink { .. } => b"l",
        };
        listing.update(tag);
        update_len_prefixed(&mut listing, rel);
        match kind {
            Kind::Dir => {}
            Kind::File {
                executable,
                content,
            } => {
                listing.update([u8::from(*executable)]);
                listing.update(content);
            }
            Kind::Symlink { target } => update_len_prefixed(&mut listing, target),
        }
    }
    Ok(Digest::from_sha256(&listing.finalize()))
}

fn update_len_prefixed(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

fn hash_file(path: &Path) -> Result<Vec<u8>, Error> {
    let mut file = File::open(path).map_err(Error::io("open", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(Error::io("read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_vec())
}

pub(crate) fn walk_error(err: walkdir::Error, root: &Path) -> Error {
    let path = err.path().unwrap_or(root).to_owned();
    Error::Io {
        action: "walk directory",
        path,
        source: err.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_valid_digests_and_refuses_others() {
        let good = format!("sha256:{}", "a1".repeat(32));
        let digest: Digest = good.parse().expect("valid digest");
        assert_eq!(digest.as_str(), good);
        assert_eq!(digest.hex(), "a1".repeat(32));
        assert!("sha256:abc".parse::<Digest>().is_err());
        assert!(
            format!("md5:{}", "a1".repeat(32))
                .parse::<Digest>()
                .is_err()
        );
        assert!(
            format!("sha256:{}", "A1".repeat(32))
                .parse::<Digest>()
                .is_err()
        );
        assert!(
            format!("sha256:{}/", "a".repeat(63))
                .parse::<Digest>()
                .is_err()
        );
    }

    #[test]
    fn hex_encoding_is_lowercase_and_complete() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }
}
