//! A build's `cache:` kept between runs, as CodeBuild keeps it: under the project's name in the
//! data directory (`cache/PROJECT/`), one entry per key. The key is matched exactly, then each
//! `fallback-keys` entry as a prefix of a stored key (the newest first); without a key, the
//! project has one cache. `action: restore` only restores and `action: save` only saves;
//! without it, both. A keyed entry, once made, is not updated (as CodeBuild's), and an entry is
//! saved only after a build that succeeded.
//!
//! Paths relative to the source are restored into the build's copy of its source before the
//! commands run (what the cache holds wins over the source's own files, as with CodeBuild's
//! local custom cache). Absolute paths (`/root/.m2/**/*`) are the build environment's own: in a
//! container, the folder they are under is mounted from a copy of the cache; on this machine
//! they are this machine's folders, used as they are, which is said in the log.
//!
//! Entries are replaced under a lock file per project (`.lock`: shared while restoring, exclusive
//! while an entry is put in place), so builds that share a cache (a batch's) never restore half
//! of an entry; a project keeps its newest `KEPT_ENTRIES` entries. A path with a `..` part is
//! refused, and nothing is restored through a symbolic link in the source, so a cache never
//! reaches outside the build's own folders.
//!
//! Keys are evaluated as CodeBuild's shell would evaluate them, for what keys are made of:
//! `$NAME`/`${NAME}` from the build's variables and `$(codebuild-hash-files GLOB...)` (a SHA-256
//! over the matching files). Any other command substitution is named and kept as written.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use globset::{GlobBuilder, GlobSetBuilder};
use pipewright_artifacts::Selection;
use pipewright_model::buildspec::{Cache, CacheAction};
use sha2::{Digest as _, Sha256};
use walkdir::WalkDir;

use super::{ActionRun, blocking};
use crate::containers::Place;

/// How many entries a project's cache keeps: the newest, by when they were saved.
const KEPT_ENTRIES: usize = 5;

/// Where a build's cache comes from and goes to, once its key is known.
#[derive(Debug)]
pub(super) struct CacheRun {
    /// `cache/PROJECT` in the data directory.
    root: PathBuf,
    key: String,
    save: bool,
    relative: Vec<String>,
    /// Absolute patterns by the folder they are under, each with its copy in the workspace that
    /// the container mounts there.
    absolute: Vec<AbsolutePath>,
}

#[derive(Debug)]
struct AbsolutePath {
    /// `/root/.m2`
    folder: String,
    /// `**/*`, relative to the folder.
    pattern: String,
    /// The workspace's copy, mounted at `folder`.
    copy: PathBuf,
}

impl CacheRun {
    /// The mounts a container build needs for the absolute paths.
    pub(super) fn mounts(&self) -> Vec<(PathBuf, String)> {
        let mut folders: Vec<(PathBuf, String)> = self
            .absolute
            .iter()
            .map(|a| (a.copy.clone(), a.folder.clone()))
            .collect();
        folders.dedup();
        folders
    }
}

/// Works out the key, and restores the cache into the build's source (and, for a container,
/// into the copies its absolute paths are mounted from). Notes go to the build's log.
pub(super) async fn restore(
    cache_dir: &Path,
    run: &ActionRun,
    cache: &Cache,
    source: &Path,
    env: &[(String, String)],
) -> Option<CacheRun> {
    if cache.paths.is_empty() {
        run.log
            .note("Not done locally: /cache: no paths are given, so nothing is cached");
        return None;
    }
    let project = run
        .action
        .config("ProjectName")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}-{}-{}", run.pipeline, run.stage, run.action.name));
    let root = cache_dir.join(safe_name(&project));
    let key = match &cache.key {
        Some(key) => {
            let (key, unevaluated) = evaluate_key(key, env, source);
            if let Some(what) = unevaluated {
                run.log.note(format!(
                    "Not done locally: /cache/key: {what} is not evaluated here; the key keeps it as written"
                ));
            }
            key
        }
        None => String::new(),
    };
    let in_container = matches!(run.place, Place::Container(_));
    let mut relative = Vec::new();
    let mut absolute = Vec::new();
    for path in &cache.paths {
        if path.split('/').any(|part| part == "..") {
            run.log.note(format!(
                "Cache path {path} is refused: a cache path may not climb out of its folder with `..`"
            ));
            continue;
        }
        match path.strip_prefix('/') {
            None => relative.push(path.trim_start_matches("./").to_owned()),
            Some(_) if !in_container => run.log.note(format!(
                "Cache path {path} is this machine's own (the build runs here): it is used as it is, neither restored nor saved"
            )),
            Some(_) => {
                let (folder, pattern) = split_static(path);
                let copy = run
                    .workspace
                    .join("cache")
                    .join(folder.trim_start_matches('/'));
                absolute.push(AbsolutePath {
                    folder,
                    pattern,
                    copy,
                });
            }
        }
    }
    let plan = CacheRun {
        root,
        key,
        save: cache.action != CacheAction::Restore,
        relative,
        absolute,
    };
    for copy in plan.mounts() {
        if let Err(e) = std::fs::create_dir_all(&copy.0) {
            run.log
                .note(format!("Cache: cannot make {}: {e}", copy.0.display()));
        }
    }
    if cache.action == CacheAction::Save {
        run.log.note("Cache: action is save; nothing is restored");
        return Some(plan);
    }
    let fallbacks = if cache.key.is_some() {
        cache.fallback_keys.clone()
    } else {
        Vec::new()
    };
    let fallbacks_named = fallbacks.clone();
    let root = plan.root.clone();
    let key = plan.key.clone();
    let source = source.to_path_buf();
    let targets: Vec<(PathBuf, PathBuf)> = std::iter::once((PathBuf::from("src"), source))
        .chain(plan.absolute.iter().map(|a| {
            (
                Path::new("abs").join(a.folder.trim_start_matches('/')),
                a.copy.clone(),
            )
        }))
        .collect();
    let restored = blocking(move || {
        let _lock = lock(&root, Lock::Shared)?;
        let Some((entry, stored_key)) = find_entry(&root, &key, &fallbacks) else {
            return Ok(None);
        };
        let mut count = 0;
        for (from, to) in targets {
            count += copy_tree(&entry.join("files").join(from), &to)?;
        }
        Ok::<_, String>(Some((count, stored_key)))
    })
    .await;
    match restored {
        Ok(Ok(Some((count, stored_key)))) => run.log.note(format!(
            "Cache: restored {count} files from {}",
            describe_key(&stored_key)
        )),
        Ok(Ok(None)) => run.log.note(format!(
            "Cache: nothing stored for {}{}",
            describe_key(&plan.key),
            if fallbacks_named.is_empty() {
                String::new()
            } else {
                format!(" or the fallback keys {}", fallbacks_named.join(", "))
            }
        )),
        Ok(Err(why)) | Err(why) => run.log.note(format!("Cache: not restored: {why}")),
    }
    Some(plan)
}

/// Saves the cache after a build that succeeded.
pub(super) async fn save(run: &ActionRun, plan: CacheRun, source: &Path) {
    if !plan.save {
        run.log.note("Cache: action is restore; nothing is saved");
        return;
    }
    let entry = plan.root.join(entry_name(&plan.key));
    if !plan.key.is_empty() && entry.is_dir() {
        run.log.note(already_stored(&plan.key));
        return;
    }
    let source = source.to_path_buf();
    let key = plan.key.clone();
    let saved = blocking(move || save_entry(&plan, &entry, &source)).await;
    match saved {
        Ok(Ok(Saved::Made { files, pruned })) => {
            run.log.note(format!(
                "Cache: saved {files} files as {}",
                describe_key(&key)
            ));
            if pruned > 0 {
                run.log.note(format!(
                    "Cache: removed {pruned} older entries (a project keeps its {KEPT_ENTRIES} newest)"
                ));
            }
        }
        Ok(Ok(Saved::AlreadyStored)) => run.log.note(already_stored(&key)),
        Ok(Err(why)) | Err(why) => run.log.note(format!("Cache: not saved: {why}")),
    }
}

fn already_stored(key: &str) -> String {
    format!(
        "Cache: {} is stored already, and a keyed cache is not updated once made",
        describe_key(key)
    )
}

enum Saved {
    Made {
        files: usize,
        pruned: usize,
    },
    /// Another build stored the key while this one ran.
    AlreadyStored,
}

#[derive(Clone, Copy)]
enum Lock {
    /// Restoring: entries are read, none replaced.
    Shared,
    /// Putting an entry in place, or removing old ones.
    Exclusive,
}

/// Takes the project's lock file, held until the returned file is dropped.
fn lock(root: &Path, how: Lock) -> Result<std::fs::File, String> {
    std::fs::create_dir_all(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let path = root.join(".lock");
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    match how {
        Lock::Shared => file.lock_shared(),
        Lock::Exclusive => file.lock(),
    }
    .map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    Ok(file)
}

fn save_entry(plan: &CacheRun, entry: &Path, source: &Path) -> Result<Saved, String> {
    std::fs::create_dir_all(&plan.root).map_err(|e| format!("{}: {e}", plan.root.display()))?;
    // Made beside the entries (same file system, so the rename below is atomic), under a name
    // starting with a dot, which `find_entry` never reads; removed if it is not put in place.
    let temp = tempfile::tempdir_in(&plan.root).map_err(|e| e.to_string())?;
    let files = temp.path().join("files");
    let mut count = copy_selected(source, &plan.relative, &files.join("src"))?;
    for absolute in &plan.absolute {
        count += copy_selected(
            &absolute.copy,
            std::slice::from_ref(&absolute.pattern),
            &files
                .join("abs")
                .join(absolute.folder.trim_start_matches('/')),
        )?;
    }
    std::fs::write(temp.path().join("key"), &plan.key).map_err(|e| e.to_string())?;
    // Restores hold the lock shared while they read, so none sees an entry being replaced.
    let _lock = lock(&plan.root, Lock::Exclusive)?;
    if !plan.key.is_empty() && entry.is_dir() {
        return Ok(Saved::AlreadyStored);
    }
    let old = plan.root.join(format!(".old-{}", uuid::Uuid::new_v4()));
    let _ = std::fs::rename(entry, &old);
    std::fs::rename(temp.path(), entry).map_err(|e| format!("{}: {e}", entry.display()))?;
    let _ = std::fs::remove_dir_all(&old);
    let pruned = prune(&plan.root, entry);
    Ok(Saved::Made {
        files: count,
        pruned,
    })
}

/// Removes all but the newest `KEPT_ENTRIES` entries (never `keep`, just saved); how many it
/// removed. Called with the lock held.
fn prune(root: &Path, keep: &Path) -> usize {
    let mut entries = stored_entries(root);
    entries.retain(|(_, path, _)| path != keep);
    entries
        .iter()
        .skip(KEPT_ENTRIES.saturating_sub(1))
        .filter(|(_, path, _)| std::fs::remove_dir_all(path).is_ok())
        .count()
}

/// The stored entries, newest first: when each was saved, where, its key.
fn stored_entries(root: &Path) -> Vec<(SystemTime, PathBuf, String)> {
    let Ok(dir) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut stored: Vec<(SystemTime, PathBuf, String)> = dir
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| {
            let path = e.path();
            let key = std::fs::read_to_string(path.join("key")).ok()?;
            let made = e.metadata().and_then(|m| m.modified()).ok()?;
            Some((made, path, key))
        })
        .collect();
    stored.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    stored
}

/// The stored entry for `key`, else the newest whose key starts with a fallback key (in order).
fn find_entry(root: &Path, key: &str, fallbacks: &[String]) -> Option<(PathBuf, String)> {
    let exact = root.join(entry_name(key));
    if exact.is_dir() {
        return Some((exact, key.to_owned()));
    }
    let stored = stored_entries(root);
    fallbacks.iter().find_map(|prefix| {
        stored
            .iter()
            .find(|(_, _, key)| key.starts_with(prefix.as_str()))
            .map(|(_, path, key)| (path.clone(), key.clone()))
    })
}

fn entry_name(key: &str) -> String {
    if key.is_empty() {
        return "default".to_owned();
    }
    let digest = Sha256::digest(key.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn describe_key(key: &str) -> String {
    if key.is_empty() {
        "the project's cache".to_owned()
    } else {
        format!("key {key}")
    }
}

/// A project name as one safe folder name: never `..`, nor hidden like the lock file.
fn safe_name(name: &str) -> String {
    name.chars()
        .enumerate()
        .map(|(at, c)| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') || (c == '.' && at > 0) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `/root/.m2/**/*` → (`/root/.m2`, `**/*`): the folder before the first glob, and the rest.
fn split_static(path: &str) -> (String, String) {
    let parts: Vec<&str> = path.split('/').collect();
    let first_glob = parts
        .iter()
        .position(|p| p.contains(['*', '?', '[', '{']))
        .unwrap_or(parts.len());
    let folder = parts[..first_glob].join("/");
    let pattern = parts[first_glob..].join("/");
    (
        folder,
        if pattern.is_empty() {
            "**/*".to_owned()
        } else {
            pattern
        },
    )
}

/// Copies what `patterns` select under `from` into `to`; how many files.
fn copy_selected(from: &Path, patterns: &[String], to: &Path) -> Result<usize, String> {
    if patterns.is_empty() || !from.is_dir() {
        return Ok(0);
    }
    let selection =
        Selection::globs(patterns.to_vec(), None, false, Vec::new()).map_err(|e| e.to_string())?;
    let files = selection.files(from).map_err(|e| e.to_string())?;
    for (file, relative) in &files {
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::copy(file, &target).map_err(|e| format!("{}: {e}", file.display()))?;
    }
    Ok(files.len())
}

/// Copies every regular file under `from` into `to`, over what is there; how many. A file whose
/// way into `to` passes a symbolic link is refused: the link could lead anywhere.
fn copy_tree(from: &Path, to: &Path) -> Result<usize, String> {
    if !from.is_dir() {
        return Ok(0);
    }
    let mut count = 0;
    for entry in WalkDir::new(from).into_iter().flatten() {
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(relative) = entry.path().strip_prefix(from) else {
            continue;
        };
        if let Some(link) = link_on_the_way(to, relative) {
            return Err(format!(
                "{} is a symbolic link, and the cache is not restored through one",
                link.display()
            ));
        }
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        // A file of the source the cache replaces may be read-only; the copy goes over it.
        let _ = std::fs::remove_file(&target);
        std::fs::copy(entry.path(), &target).map_err(|e| format!("{}: {e}", target.display()))?;
        count += 1;
    }
    Ok(count)
}

/// The first folder between `root` and `relative`'s file that is a symbolic link.
fn link_on_the_way(root: &Path, relative: &Path) -> Option<PathBuf> {
    let mut at = root.to_path_buf();
    let parent = relative.parent()?;
    for part in parent.components() {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => return Some(at),
            Ok(_) => {}
            // Not there yet: made by the copy, so no link further on.
            Err(_) => return None,
        }
    }
    None
}

/// The key with `$NAME`, `${NAME}` and `$(codebuild-hash-files ...)` evaluated; and the first
/// other command substitution, which is not.
fn evaluate_key(key: &str, env: &[(String, String)], source: &Path) -> (String, Option<String>) {
    let lookup = |name: &str| {
        env.iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut out = String::new();
    let mut unevaluated = None;
    let mut rest = key;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(inner) = after.strip_prefix('(') {
            let Some(end) = inner.find(')') else {
                out.push_str(&rest[at..]);
                rest = "";
                break;
            };
            let command = &inner[..end];
            let mut words = command.split_whitespace();
            if words.next() == Some("codebuild-hash-files") {
                let globs: Vec<String> = words
                    .map(|w| w.trim_matches(['"', '\'']).to_owned())
                    .collect();
                out.push_str(&hash_files(source, &globs));
            } else {
                unevaluated.get_or_insert_with(|| format!("$({command})"));
                out.push_str(&format!("$({command})"));
            }
            rest = &inner[end + 1..];
        } else if let Some(inner) = after.strip_prefix('{') {
            let end = inner.find('}').unwrap_or(inner.len());
            out.push_str(&lookup(&inner[..end]));
            rest = inner.get(end + 1..).unwrap_or("");
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if end == 0 {
                out.push('$');
            } else {
                out.push_str(&lookup(&after[..end]));
            }
            rest = &after[end..];
        }
    }
    out.push_str(rest);
    (out, unevaluated)
}

/// CodeBuild's `codebuild-hash-files`: a SHA-256 over the files the globs match under the
/// source, in path order, their paths and contents.
fn hash_files(source: &Path, globs: &[String]) -> String {
    let mut set = GlobSetBuilder::new();
    for glob in globs {
        if let Ok(glob) = GlobBuilder::new(glob).literal_separator(true).build() {
            set.add(glob);
        }
    }
    let Ok(set) = set.build() else {
        return String::new();
    };
    let mut files: Vec<PathBuf> = WalkDir::new(source)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.path().strip_prefix(source).ok().map(Path::to_path_buf))
        .filter(|relative| set.is_match(relative))
        .collect();
    files.sort();
    let mut hasher = Sha256::new();
    for relative in files {
        hasher.update(relative.display().to_string().as_bytes());
        hasher.update([0]);
        if let Ok(bytes) = std::fs::read(source.join(&relative)) {
            hasher.update(&bytes);
        }
        hasher.update([0]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_take_variables_and_file_hashes() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("package-lock.json"), "{\"a\":1}").expect("write");
        let env = vec![("STAGE".to_owned(), "prod".to_owned())];
        let (key, unevaluated) = evaluate_key(
            "npm-$STAGE-${STAGE}-$(codebuild-hash-files package-lock.json)",
            &env,
            dir.path(),
        );
        assert!(key.starts_with("npm-prod-prod-"), "{key}");
        assert_eq!(key.len(), "npm-prod-prod-".len() + 64);
        assert_eq!(unevaluated, None);
        std::fs::write(dir.path().join("package-lock.json"), "{\"a\":2}").expect("write");
        let (changed, _) = evaluate_key(
            "npm-$STAGE-${STAGE}-$(codebuild-hash-files package-lock.json)",
            &env,
            dir.path(),
        );
        assert_ne!(key, changed, "the hash follows the file");
        let (kept, unevaluated) = evaluate_key("k-$(date +%F)", &env, dir.path());
        assert_eq!(kept, "k-$(date +%F)");
        assert_eq!(unevaluated.as_deref(), Some("$(date +%F)"));
    }

    #[test]
    fn an_absolute_path_is_a_folder_and_a_pattern_under_it() {
        assert_eq!(
            split_static("/root/.m2/**/*"),
            ("/root/.m2".to_owned(), "**/*".to_owned())
        );
        assert_eq!(
            split_static("/root/.cache/pip"),
            ("/root/.cache/pip".to_owned(), "**/*".to_owned())
        );
    }

    /// Stores an entry for `key`, saved `age` minutes ago.
    fn stored(root: &Path, key: &str, age: u64) -> PathBuf {
        let entry = root.join(entry_name(key));
        std::fs::create_dir_all(entry.join("files/src")).expect("entry");
        std::fs::write(entry.join("key"), key).expect("key");
        std::fs::write(entry.join("files/src/cached.txt"), key).expect("file");
        let when = SystemTime::now() - std::time::Duration::from_secs(age * 60);
        std::fs::File::open(&entry)
            .and_then(|dir| dir.set_modified(when))
            .expect("the entry's time");
        entry
    }

    #[test]
    fn fallback_keys_match_the_newest_entry_they_prefix() {
        let dir = tempfile::tempdir().expect("dir");
        // Made newest first, so the order they were made in is not the order of their ages.
        for (key, age) in [("pip-ccc", 0), ("npm-bbb", 1), ("npm-aaa", 2)] {
            stored(dir.path(), key, age);
        }
        let found = find_entry(dir.path(), "npm-zzz", &["npm-".to_owned()]).expect("found");
        assert_eq!(found.1, "npm-bbb");
        assert!(find_entry(dir.path(), "go-1", &["go-".to_owned()]).is_none());
        assert_eq!(
            find_entry(dir.path(), "pip-ccc", &[])
                .map(|f| f.1)
                .as_deref(),
            Some("pip-ccc")
        );
    }

    #[test]
    fn a_project_keeps_its_newest_entries() {
        let dir = tempfile::tempdir().expect("dir");
        for age in 1..=7 {
            stored(dir.path(), &format!("k-{age}"), age);
        }
        let just_saved = stored(dir.path(), "k-0", 0);
        assert_eq!(prune(dir.path(), &just_saved), 3);
        let mut left: Vec<String> = stored_entries(dir.path())
            .into_iter()
            .map(|(_, _, key)| key)
            .collect();
        left.sort();
        assert_eq!(left, ["k-0", "k-1", "k-2", "k-3", "k-4"]);
    }

    #[test]
    fn a_restore_never_writes_through_a_symbolic_link() {
        let dir = tempfile::tempdir().expect("dir");
        let from = dir.path().join("entry");
        std::fs::create_dir_all(from.join("deps")).expect("entry");
        std::fs::write(from.join("deps/lib.txt"), "cached").expect("file");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).expect("outside");
        let source = dir.path().join("source");
        std::fs::create_dir_all(&source).expect("source");
        std::os::unix::fs::symlink(&outside, source.join("deps")).expect("link");
        let refused = copy_tree(&from, &source).expect_err("refused");
        assert!(refused.contains("symbolic link"), "{refused}");
        assert!(
            !outside.join("lib.txt").exists(),
            "nothing went through the link"
        );
    }

    #[test]
    fn a_project_name_is_one_plain_folder() {
        assert_eq!(safe_name(".."), "_.");
        assert_eq!(safe_name(".lock"), "_lock");
        assert_eq!(safe_name("web/app v2"), "web_app_v2");
        assert_eq!(safe_name("api.build"), "api.build");
    }
}
