//! Integration tests of the artifact store, run against the real filesystem (and, where the
//! machine allows it, real overlay mounts).

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Cursor, Write};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use pipewright_artifacts::{ArtifactStore, Digest, Error, Handoff, Selection};
use zip::write::SimpleFileOptions;

fn write(path: &Path, content: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent");
    }
    fs::write(path, content).expect("write file");
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .expect("stat")
        .permissions()
        .mode()
        & 0o7777
}

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// Mount points of this process, straight from the kernel (tempdir paths hold no escapes).
fn mount_points() -> Vec<PathBuf> {
    fs::read_to_string("/proc/self/mountinfo")
        .expect("read mountinfo")
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(PathBuf::from))
        .collect()
}

/// A snapshot of a tree: relative path -> (kind, mode, content or target).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (char, u32, Vec<u8>)> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1) {
        let entry = entry.expect("walk");
        let rel = entry.path().strip_prefix(root).expect("inside").to_owned();
        let ft = entry.file_type();
        let value = if ft.is_symlink() {
            (
                'l',
                0,
                fs::read_link(entry.path())
                    .expect("readlink")
                    .into_os_string()
                    .into_encoded_bytes(),
            )
        } else if ft.is_dir() {
            ('d', mode(entry.path()), Vec::new())
        } else {
            (
                'f',
                mode(entry.path()),
                fs::read(entry.path()).expect("read"),
            )
        };
        out.insert(rel, value);
    }
    out
}

fn files_of(root: &Path) -> Vec<String> {
    let mut files: Vec<String> = walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            e.path()
                .strip_prefix(root)
                .expect("inside")
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    files
}

fn dir_entries(path: &Path) -> usize {
    fs::read_dir(path).expect("read dir").count()
}

/// A small tree with every kind of entry the store keeps.
fn sample_tree(dir: &Path) {
    write(&dir.join("a.txt"), b"alpha\n");
    write(&dir.join("bin/run.sh"), b"#!/bin/sh\necho run\n");
    chmod(&dir.join("bin/run.sh"), 0o755);
    write(&dir.join("truncate.txt"), b"0123456789");
    write(&dir.join("chmod.txt"), b"mode");
    write(&dir.join("delete.txt"), b"bye");
    write(&dir.join("movedir/inner.txt"), b"inner");
    write(&dir.join("renamedir/inner.txt"), b"inner2");
    write(&dir.join("src/lib/mod.rs"), b"pub fn f() {}\n");
    fs::create_dir_all(dir.join("empty")).expect("mkdir");
    symlink("a.txt", dir.join("link")).expect("symlink");
    symlink("../a.txt", dir.join("src/up")).expect("symlink");
}

#[test]
fn identical_trees_share_one_object_and_differences_change_the_digest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = ArtifactStore::open(&tmp.path().join("store"), Some(Handoff::Copy)).expect("open");
    let one = tmp.path().join("one");
    let two = tmp.path().join("two");
    sample_tree(&one);
    sample_tree(&two);
    // Different mtimes and non-executable permission bits must not matter.
    File::options()
        .write(true)
        .open(two.join("a.txt"))
        .and_then(|f| f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000)))
        .expect("set mtime");
    chmod(&two.join("chmod.txt"), 0o600);

    let first = store.ingest(&one, &Selection::all()).expect("ingest one");
    let second = store.ingest(&two, &Selection::all()).expect("ingest two");
    assert_eq!(first.digest, second.digest);
    assert_eq!(first.files, 8);
    assert_eq!(first.bytes, second.bytes);
    assert_eq!(store.list().expect("list"), vec![first.digest.clone()]);
    assert_eq!(
        dir_entries(&store.root().join("tmp")),
        0,
        "no scratch copy left behind"
    );
    assert!(store.contains(&first.digest));
    assert!(first.digest.as_str().starts_with("sha256:"));
    assert_eq!(
        first.digest.as_str().parse::<Digest>().expect("parses"),
        first.digest
    );

    // Stored modes are normalised, and the empty directory and symlinks are kept.
    let tree = store.tree(&first.digest).expect("tree");
    assert_eq!(mode(&tree.join("bin/run.sh")), 0o755);
    assert_eq!(mode(&tree.join("chmod.txt")), 0o644);
    assert!(tree.join("empty").is_dir());
    assert_eq!(
        fs::read_link(tree.join("src/up")).expect("link"),
        PathBuf::from("../a.txt")
    );

    chmod(&two.join("chmod.txt"), 0o700);
    let by_mode = store
        .ingest(&two, &Selection::all())
        .expect("ingest mode change");
    assert_ne!(
        by_mode.digest, first.digest,
        "the executable bit is part of the digest"
    );

    chmod(&two.join("chmod.txt"), 0o644);
    write(&two.join("a.txt"), b"alpha!\n");
    let by_content = store
        .ingest(&two, &Selection::all())
        .expect("ingest content change");
    assert_ne!(by_content.digest, first.digest);
    assert_ne!(by_content.digest, by_mode.digest);

    fs::remove_dir(two.join("empty")).expect("rmdir");
    write(&two.join("a.txt"), b"alpha\n");
    let by_empty_dir = store
        .ingest(&two, &Selection::all())
        .expect("ingest without empty dir");
    assert_ne!(by_empty_dir.digest, first.digest, "empty directories count");
    assert_eq!(store.list().expect("list").len(), 4);
}

/// Checks out the sample artifact, mutates the working copy the way an action running as root
/// would, and checks that neither the store nor a second checkout sees anything of it.
fn working_copy_never_changes_the_store(handoff: Handoff) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = ArtifactStore::open(&tmp.path().join("store"), Some(handoff)).expect("open");
    assert_eq!(store.handoff(), handoff);
    let src = tmp.path().join("src");
    sample_tree(&src);
    let digest = store
        .ingest(&src, &Selection::all())
        .expect("ingest")
        .digest;
    let tree = store.tree(&digest).expect("tree");
    let before = snapshot(&tree);

    let workspace = tmp.path().join("ws");
    fs::create_dir(&workspace).expect("mkdir");
    let first = store
        .checkout(&digest, &workspace.join("one"))
        .expect("checkout one");
    let wc = first.path().to_owned();
    assert_eq!(
        snapshot(&wc),
        before,
        "a fresh working copy equals the artifact"
    );
    assert_eq!(mode(&wc), 0o755, "the root looks like a stored directory");
    if handoff == Handoff::Overlay {
        assert!(mount_points().contains(&wc), "the working copy is a mount");
    }

    // The mutations run in a shell, as an action would; we are root, so permissions stop nothing.
    let script = "set -e
        echo appended >> a.txt
        echo through-link >> link
        : > truncate.txt
        chmod 700 chmod.txt
        chmod 600 bin/run.sh
        rm delete.txt
        echo new > new.txt
        mv movedir moved
        rm -r src/lib
        mkdir -p empty/now-full && echo x > empty/now-full/f";
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(&wc)
        .status()
        .expect("run sh");
    assert!(status.success());
    // A direct rename(2) of a directory from the artifact, as programs other than `mv` do it.
    fs::rename(wc.join("renamedir"), wc.join("renamed")).expect("rename a directory");
    // And a write through an already open descriptor, straight from this (root) process.
    OpenOptions::new()
        .write(true)
        .open(wc.join("bin/run.sh"))
        .and_then(|mut f| f.write_all(b"#!/bin/sh\nexit 1\n"))
        .expect("overwrite");

    // The working copy shows every change.
    assert_eq!(
        fs::read(wc.join("a.txt")).expect("read"),
        b"alpha\nappended\nthrough-link\n"
    );
    assert_eq!(
        fs::metadata(wc.join("truncate.txt")).expect("stat").len(),
        0
    );
    assert_eq!(mode(&wc.join("chmod.txt")), 0o700);
    assert_eq!(mode(&wc.join("bin/run.sh")), 0o600);
    assert!(!wc.join("delete.txt").exists());
    assert_eq!(fs::read(wc.join("new.txt")).expect("read"), b"new\n");
    assert!(!wc.join("movedir").exists());
    assert_eq!(
        fs::read(wc.join("moved/inner.txt")).expect("read"),
        b"inner"
    );
    assert_eq!(
        fs::read(wc.join("renamed/inner.txt")).expect("read"),
        b"inner2"
    );
    assert!(!wc.join("src/lib").exists());

    // The store does not: re-hashed from disk it still has its digest, byte for byte and mode
    // for mode, and a second checkout is pristine.
    assert_eq!(snapshot(&tree), before);
    assert_eq!(Digest::of_tree(&tree).expect("hash"), digest);
    assert!(store.verify(&digest).expect("verify"));
    let second = store
        .checkout(&digest, &workspace.join("two"))
        .expect("checkout two");
    assert_eq!(snapshot(second.path()), before);
    assert_eq!(Digest::of_tree(second.path()).expect("hash"), digest);

    assert!(matches!(
        store.checkout(&digest, &workspace.join("two")),
        Err(Error::DestinationExists { .. })
    ));

    first.release().expect("release one");
    second.release().expect("release two");
    assert_eq!(
        dir_entries(&workspace),
        0,
        "release removes the working copy and its layers"
    );
    assert!(!mount_points().iter().any(|m| m.starts_with(&workspace)));
    assert!(store.verify(&digest).expect("verify after release"));

    // The same destination can be checked out again at once, pristine.
    let again = store
        .checkout(&digest, &workspace.join("one"))
        .expect("checkout one again");
    assert_eq!(snapshot(again.path()), before);
    again.release().expect("release again");

    // The files the releases moved out of the workspace are deleted in the background, and
    // nothing of them is left in the store once that is done.
    store.wait_for_releases();
    assert_eq!(
        dir_entries(&store.root().join("tmp")),
        0,
        "released working copies are deleted"
    );
    assert_eq!(dir_entries(&workspace), 0);
    assert!(store.verify(&digest).expect("verify after the deletion"));
}

#[test]
fn overlay_working_copy_never_changes_the_store() {
    if !is_root() {
        eprintln!("skipped: overlay mounts need root");
        return;
    }
    working_copy_never_changes_the_store(Handoff::Overlay);
}

#[test]
fn copy_working_copy_never_changes_the_store() {
    working_copy_never_changes_the_store(Handoff::Copy);
}

#[test]
fn reflink_works_where_supported_and_is_refused_elsewhere() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("store");
    let detected = ArtifactStore::open(&root, None).expect("open").handoff();
    eprintln!("detected handoff for {}: {detected}", root.display());
    if detected == Handoff::Reflink {
        working_copy_never_changes_the_store(Handoff::Reflink);
        return;
    }
    eprintln!("skipped the reflink checkout: this filesystem cannot clone files");
    let err =
        ArtifactStore::open(&root, Some(Handoff::Reflink)).expect_err("reflink must be refused");
    assert!(
        matches!(
            err,
            Error::HandoffUnavailable {
                handoff: Handoff::Reflink,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains(&root.display().to_string()),
        "{err}"
    );
    assert_eq!(
        dir_entries(&root.join("tmp")),
        0,
        "probes clean up after themselves"
    );
}

#[test]
fn dropping_a_checkout_releases_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = ArtifactStore::open(&tmp.path().join("store"), None).expect("open");
    let src = tmp.path().join("src");
    sample_tree(&src);
    let digest = store
        .ingest(&src, &Selection::all())
        .expect("ingest")
        .digest;
    let dest = tmp.path().join("wc");
    {
        let checkout = store.checkout(&digest, &dest).expect("checkout");
        write(&checkout.path().join("scratch"), b"x");
    }
    assert!(!dest.exists());
    assert!(!mount_points().contains(&dest));
    let missing: Digest = format!("sha256:{}", "0".repeat(64))
        .parse()
        .expect("digest");
    assert!(matches!(
        store.checkout(&missing, &dest),
        Err(Error::NotFound { .. })
    ));
    assert!(!dest.exists());
}

fn glob_tree(dir: &Path) {
    for f in [
        "src/a.rs",
        "src/b/c.rs",
        "dist/app.js",
        "dist/sub/x.js",
        "dist/sub/x.js.map",
        "README.txt",
        "notes.txt",
        "docs/guide.txt",
        "node_modules/m/index.js",
    ] {
        write(&dir.join(f), f.as_bytes());
    }
}

fn select(store: &ArtifactStore, dir: &Path, selection: Selection) -> Vec<String> {
    let digest = store.ingest(dir, &selection).expect("ingest").digest;
    files_of(&store.tree(&digest).expect("tree"))
}

fn globs(
    patterns: &[&str],
    base: Option<&str>,
    discard: bool,
    exclude: &[&str],
) -> Result<Selection, Error> {
    Selection::globs(
        patterns.iter().map(|s| s.to_string()).collect(),
        base.map(str::to_owned),
        discard,
        exclude.iter().map(|s| s.to_string()).collect(),
    )
}

#[test]
fn globs_select_like_codebuild() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = ArtifactStore::open(&tmp.path().join("store"), Some(Handoff::Copy)).expect("open");
    let dir = tmp.path().join("build");
    glob_tree(&dir);

    assert_eq!(
        select(
            &store,
            &dir,
            globs(&["**/*"], None, false, &["node_modules/**/*"]).expect("globs")
        ),
        [
            "README.txt",
            "dist/app.js",
            "dist/sub/x.js",
            "dist/sub/x.js.map",
            "docs/guide.txt",
            "notes.txt",
            "src/a.rs",
            "src/b/c.rs"
        ]
    );
    // `*` stays within one directory.
    assert_eq!(
        select(
            &store,
            &dir,
            globs(&["*.txt"], None, false, &[]).expect("globs")
        ),
        ["README.txt", "notes.txt"]
    );
    assert_eq!(
        select(
            &store,
            &dir,
            globs(&["dist/app.js"], None, false, &[]).expect("globs")
        ),
        ["dist/app.js"]
    );
    // A directory pattern takes the directory; an excluded directory drops all of it.
    assert_eq!(
        select(
            &store,
            &dir,
            globs(&["src", "node_modules"], None, false, &["node_modules"]).expect("globs")
        ),
        ["src/a.rs", "src/b/c.rs"]
    );
    assert_eq!(
        select(
            &store,
            &dir,
            globs(&["**/*"], Some("dist"), false, &["**/*.map"]).expect("globs")
        ),
        ["app.js", "sub/x.js"]
    );
    assert_eq!(
        select(
            &store,
            &dir,
            globs(&["**/*.js"], Some("./dist/"), true, &[]).expect("globs")
        ),
        ["app.js", "x.js"]
    );

    write(&dir.join("other/a.rs"), b"other");
    let err = store
        .ingest(&dir, &globs(&["**/*.rs"], None, true, &[]).expect("globs"))
        .expect_err("discard-paths collision");
    match &err {
        Error::NameCollision {
            name,
            first,
            second,
        } => {
            assert_eq!(name, "a.rs");
            let both: HashSet<PathBuf> = [first.clone(), second.clone()].into();
            assert_eq!(both, [dir.join("src/a.rs"), dir.join("other/a.rs")].into());
        }
        other => panic!("expected a name collision, got {other}"),
    }
    assert!(err.to_string().contains("other/a.rs") && err.to_string().contains("src/a.rs"));

    let err = store
        .ingest(
            &dir,
            &globs(&["*.nothing"], None, false, &[]).expect("globs"),
        )
        .expect_err("nothing selected");
    assert!(matches!(err, Error::NothingSelected { .. }), "{err}");
}

#[test]
fn escaping_patterns_are_refused() {
    for pattern in ["../x", "/etc/passwd", "dist/../../x"] {
        let err = globs(&[pattern], None, false, &[]).expect_err("refused");
        assert!(
            matches!(&err, Error::PathEscapes { pattern: p } if p == pattern),
            "{err}"
        );
        assert!(err.to_string().contains(pattern));
    }
    assert!(matches!(
        globs(&["**/*"], Some("../up"), false, &[]),
        Err(Error::PathEscapes { .. })
    ));
}

#[test]
fn symlinks_leaving_the_artifact_are_refused_and_inner_ones_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = ArtifactStore::open(&tmp.path().join("store"), Some(Handoff::Copy)).expect("open");
    let dir = tmp.path().join("build");
    glob_tree(&dir);
    symlink("a.rs", dir.join("src/inner-link")).expect("symlink");
    let stored = store
        .ingest(
            &dir,
            &globs(&["src/**/*"], None, false, &[]).expect("globs"),
        )
        .expect("inner link is fine");
    let tree = store.tree(&stored.digest).expect("tree");
    assert_eq!(
        fs::read_link(tree.join("src/inner-link")).expect("link"),
        PathBuf::from("a.rs")
    );
    assert_eq!(
        fs::read(tree.join("src/inner-link")).expect("read through"),
        b"src/a.rs"
    );

    let objects_before = store.list().expect("list");
    symlink("/etc/passwd", dir.join("docs/passwd")).expect("symlink");
    let err = store
        .ingest(
            &dir,
            &globs(&["docs/**/*"], None, false, &[]).expect("globs"),
        )
        .expect_err("absolute link refused");
    assert!(
        matches!(&err, Error::SymlinkEscapes { link, .. } if *link == dir.join("docs/passwd")),
        "{err}"
    );
    assert!(err.to_string().contains("docs/passwd"), "{err}");
    let err = store
        .ingest(&dir, &Selection::all())
        .expect_err("refused with Selection::all too");
    assert!(matches!(err, Error::SymlinkEscapes { .. }), "{err}");
    fs::remove_file(dir.join("docs/passwd")).expect("rm");

    // Relative links are judged where they land: fine in place, escaping once paths are discarded.
    symlink("../guide.txt", dir.join("docs/deep-link")).expect("symlink");
    fs::create_dir_all(dir.join("docs/d")).expect("mkdir");
    fs::rename(dir.join("docs/deep-link"), dir.join("docs/d/deep-link")).expect("mv");
    store
        .ingest(
            &dir,
            &globs(&["docs/**/*"], None, false, &[]).expect("globs"),
        )
        .expect("relative link inside the artifact");
    let err = store
        .ingest(
            &dir,
            &globs(&["docs/**/*"], None, true, &[]).expect("globs"),
        )
        .expect_err("after discard-paths the link points above the root");
    assert!(matches!(err, Error::SymlinkEscapes { .. }), "{err}");
    symlink("../../../outside", dir.join("docs/d/out")).expect("symlink");
    let err = store
        .ingest(&dir, &Selection::all())
        .expect_err("relative escape");
    assert!(
        matches!(&err, Error::SymlinkEscapes { link, .. } if *link == dir.join("docs/d/out")),
        "{err}"
    );

    assert_eq!(store.list().expect("list").len(), objects_before.len() + 1);
    assert_eq!(dir_entries(&store.root().join("tmp")), 0);
}

#[test]
fn special_files_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = ArtifactStore::open(&tmp.path().join("store"), Some(Handoff::Copy)).expect("open");
    let dir = tmp.path().join("build");
    write(&dir.join("ok.txt"), b"ok");
    let fifo = dir.join("pipe");
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    let err = store
        .ingest(&dir, &Selection::all())
        .expect_err("fifo refused");
    assert!(
        matches!(&err, Error::SpecialFile { path, kind: "fifo" } if *path == fifo),
        "{err}"
    );
    // Not selected, not a problem.
    store
        .ingest(&dir, &globs(&["*.txt"], None, false, &[]).expect("globs"))
        .expect("fifo not selected");
}

#[test]
fn zip_export_then_import_round_trips() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = ArtifactStore::open(&tmp.path().join("store"), Some(Handoff::Copy)).expect("open");
    let src = tmp.path().join("src");
    sample_tree(&src);
    let digest = store
        .ingest(&src, &Selection::all())
        .expect("ingest")
        .digest;

    let zip_path = tmp.path().join("artifact.zip");
    store
        .export_zip(&digest, File::create(&zip_path).expect("create zip"))
        .expect("export");
    let mut again = Cursor::new(Vec::new());
    store.export_zip(&digest, &mut again).expect("export again");
    assert_eq!(
        again.into_inner(),
        fs::read(&zip_path).expect("read zip"),
        "exports are reproducible"
    );

    let mut archive = zip::ZipArchive::new(File::open(&zip_path).expect("open zip")).expect("zip");
    let names: HashSet<String> = archive
        .file_names()
        .map(|n| n.expect("name").into_owned())
        .collect();
    assert!(
        names.contains("bin/run.sh")
            && names.contains("src/lib/mod.rs")
            && names.contains("empty/")
    );
    assert!(
        names
            .iter()
            .all(|n| !n.starts_with('/') && !n.contains('\\'))
    );
    let run = archive.by_name("bin/run.sh").expect("entry");
    assert_eq!(
        run.unix_mode().expect("mode") & 0o777,
        0o755,
        "executables stay executable"
    );
    drop(run);
    assert!(archive.by_name("link").expect("entry").is_symlink());

    let imported = store.import_zip(&zip_path).expect("import");
    assert_eq!(imported.digest, digest);
    assert_eq!(store.list().expect("list").len(), 1);

    // A zip made elsewhere, without unix modes or directory entries, still imports.
    let foreign = tmp.path().join("foreign.zip");
    let mut writer = zip::ZipWriter::new(File::create(&foreign).expect("create"));
    writer
        .start_file("deep/dir/file.txt", SimpleFileOptions::default())
        .expect("start");
    writer.write_all(b"hello").expect("write");
    writer.finish().expect("finish");
    let imported = store.import_zip(&foreign).expect("import foreign");
    assert_eq!(imported.files, 1);
    assert_eq!(imported.bytes, 5);
    let tree = store.tree(&imported.digest).expect("tree");
    assert_eq!(
        fs::read(tree.join("deep/dir/file.txt")).expect("read"),
        b"hello"
    );
}

#[test]
fn dangerous_zip_entries_are_refused_and_nothing_is_stored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = ArtifactStore::open(&tmp.path().join("store"), Some(Handoff::Copy)).expect("open");
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).expect("mkdir");

    type Build = fn(&mut zip::ZipWriter<File>);
    let cases: [(&str, &str, Build); 5] = [
        ("dotdot", "../evil", |w| {
            w.start_file("ok.txt", SimpleFileOptions::default())
                .expect("start");
            w.write_all(b"ok").expect("write");
            w.start_file("../evil", SimpleFileOptions::default())
                .expect("start");
            w.write_all(b"evil").expect("write");
        }),
        ("absolute", "/abs", |w| {
            w.start_file("/abs", SimpleFileOptions::default())
                .expect("start");
            w.write_all(b"evil").expect("write");
        }),
        ("absolute-link", "link", |w| {
            w.add_symlink("link", "/etc/passwd", SimpleFileOptions::default())
                .expect("link");
        }),
        ("relative-link", "sub/link", |w| {
            w.add_symlink("sub/link", "../../outside", SimpleFileOptions::default())
                .expect("link");
        }),
        ("through-link", "d/evil", |w| {
            // The link itself stays inside, but writing below it must not follow it.
            w.add_symlink("d", ".", SimpleFileOptions::default())
                .expect("link");
            w.start_file("d/evil", SimpleFileOptions::default())
                .expect("start");
            w.write_all(b"evil").expect("write");
        }),
    ];
    for (name, entry, build) in cases {
        let path = tmp.path().join(format!("{name}.zip"));
        let mut writer = zip::ZipWriter::new(File::create(&path).expect("create"));
        build(&mut writer);
        writer.finish().expect("finish");
        let err = store.import_zip(&path).expect_err(name);
        match &err {
            Error::ZipEntryRefused { entry: e, zip, .. } => {
                assert_eq!(e, entry, "{name}: {err}");
                assert_eq!(zip, &path);
            }
            other => panic!("{name}: expected a refused entry, got {other}"),
        }
        assert!(err.to_string().contains(entry), "{err}");
        assert!(
            store.list().expect("list").is_empty(),
            "{name}: nothing stored"
        );
        assert_eq!(
            dir_entries(&store.root().join("tmp")),
            0,
            "{name}: scratch removed"
        );
    }
    assert_eq!(dir_entries(&outside), 0);
    assert!(!tmp.path().join("evil").exists());
}

#[test]
fn gc_removes_what_is_not_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = ArtifactStore::open(&tmp.path().join("store"), Some(Handoff::Copy)).expect("open");
    let mut digests = Vec::new();
    for i in 0..3u8 {
        let dir = tmp.path().join(format!("src{i}"));
        write(&dir.join("f"), &vec![i; 1000 * (usize::from(i) + 1)]);
        digests.push(
            store
                .ingest(&dir, &Selection::all())
                .expect("ingest")
                .digest,
        );
    }
    let leftover = store.root().join("tmp").join("interrupted-ingest");
    write(&leftover.join("partial"), b"12345");
    // A released working copy whose deletion a dead process never finished.
    let trash = store
        .root()
        .join("tmp")
        .join("trash-00000000-0000-0000-0000-000000000000");
    write(&trash.join("upper/out.bin"), b"1234567");

    let keep: HashSet<Digest> = [digests[1].clone()].into();
    let report = store.gc(&keep, gc_lock(&store)).expect("gc");
    assert_eq!(report.removed, 2);
    assert_eq!(report.temp_dirs, 2);
    assert_eq!(report.bytes, 1000 + 3000 + 5 + 7);
    assert!(!trash.exists());
    assert_eq!(store.list().expect("list"), vec![digests[1].clone()]);
    assert!(store.verify(&digests[1]).expect("verify"));
    assert!(!store.contains(&digests[0]) && !store.contains(&digests[2]));
    assert!(!leftover.exists());

    let report = store.gc(&keep, gc_lock(&store)).expect("gc again");
    assert_eq!((report.removed, report.bytes, report.temp_dirs), (0, 0, 0));
}

#[test]
fn remove_workspace_unmounts_leftover_overlays() {
    if !is_root() {
        eprintln!("skipped: overlay mounts need root");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let store =
        ArtifactStore::open(&tmp.path().join("store"), Some(Handoff::Overlay)).expect("open");
    let src = tmp.path().join("src");
    sample_tree(&src);
    let digest = store
        .ingest(&src, &Selection::all())
        .expect("ingest")
        .digest;

    let workspace = tmp.path().join("dead-engine");
    fs::create_dir_all(workspace.join("exec-1/action")).expect("mkdir");
    let mut leaked = Vec::new();
    for name in ["src", "other"] {
        let checkout = store
            .checkout(&digest, &workspace.join("exec-1/action").join(name))
            .expect("checkout");
        write(
            &checkout.path().join("output.bin"),
            b"written by the action",
        );
        leaked.push(checkout.path().to_owned());
        // Simulates the engine dying: the checkout is never released.
        std::mem::forget(checkout);
    }
    let mounted = mount_points();
    assert!(leaked.iter().all(|p| mounted.contains(p)));

    ArtifactStore::remove_workspace(&workspace).expect("remove workspace");
    let mounted = mount_points();
    assert!(
        leaked.iter().all(|p| !mounted.contains(p)),
        "still mounted: {mounted:?}"
    );
    assert!(!workspace.exists());
    assert!(store.verify(&digest).expect("verify"));
    ArtifactStore::remove_workspace(&workspace).expect("a missing workspace is fine");
}

/// What an action writes into a working copy, released in a batch: the releases leave the
/// workspace empty at once, and `gc` waits for the background deletion and leaves nothing behind.
fn released_output_is_deleted(handoff: Handoff) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = ArtifactStore::open(&tmp.path().join("store"), Some(handoff)).expect("open");
    let src = tmp.path().join("src");
    sample_tree(&src);
    let digest = store
        .ingest(&src, &Selection::all())
        .expect("ingest")
        .digest;
    let workspace = tmp.path().join("ws");
    fs::create_dir(&workspace).expect("mkdir");
    for round in 0..8 {
        let checkout = store
            .checkout(&digest, &workspace.join(format!("wc{round}")))
            .expect("checkout");
        for i in 0..20 {
            write(
                &checkout.path().join(format!("out/{i}/data.bin")),
                &[round; 4096],
            );
        }
        fs::remove_file(checkout.path().join("a.txt")).expect("rm");
        chmod(&checkout.path().join("out"), 0o500);
        checkout.release().expect("release");
        assert_eq!(dir_entries(&workspace), 0, "round {round}");
    }
    let report = store
        .gc(&[digest.clone()].into(), gc_lock(&store))
        .expect("gc");
    assert_eq!(report.removed, 0);
    assert_eq!(
        dir_entries(&store.root().join("tmp")),
        0,
        "gc waited for the deletions, and nothing was left to it: {report:?}"
    );
    assert!(!mount_points().iter().any(|m| m.starts_with(tmp.path())));
    assert!(store.verify(&digest).expect("verify"));
}

#[test]
fn released_output_is_deleted_overlay() {
    if !is_root() {
        eprintln!("skipped: overlay mounts need root");
        return;
    }
    released_output_is_deleted(Handoff::Overlay);
}

#[test]
fn released_output_is_deleted_copy() {
    released_output_is_deleted(Handoff::Copy);
}

#[test]
fn releasing_a_busy_overlay_detaches_it() {
    if !is_root() {
        eprintln!("skipped: overlay mounts need root");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let store =
        ArtifactStore::open(&tmp.path().join("store"), Some(Handoff::Overlay)).expect("open");
    let src = tmp.path().join("src");
    sample_tree(&src);
    let digest = store
        .ingest(&src, &Selection::all())
        .expect("ingest")
        .digest;
    let workspace = tmp.path().join("ws");
    fs::create_dir(&workspace).expect("mkdir");
    let checkout = store
        .checkout(&digest, &workspace.join("src"))
        .expect("checkout");
    // A process the action left behind, still working in the working copy.
    let mut straggler = Command::new("sleep")
        .arg("30")
        .current_dir(checkout.path())
        .spawn()
        .expect("spawn sleep");
    let dest = checkout.path().to_owned();
    let released = checkout.release();
    let _ = straggler.kill();
    let _ = straggler.wait();
    released.expect("release of a busy working copy");
    assert!(!mount_points().contains(&dest));
    assert_eq!(dir_entries(&workspace), 0);
    store
        .gc(&[digest.clone()].into(), gc_lock(&store))
        .expect("gc");
    assert_eq!(dir_entries(&store.root().join("tmp")), 0);
    assert!(store.verify(&digest).expect("verify"));
}

/// A working copy on another filesystem than the store cannot be moved into the store's `tmp/`
/// for later deletion; its release deletes it in place.
#[test]
fn release_on_another_filesystem_removes_in_place() {
    let shm = Path::new("/dev/shm");
    let tmp = tempfile::tempdir().expect("tempdir");
    let Ok(other) = tempfile::tempdir_in(shm) else {
        eprintln!("skipped: no /dev/shm");
        return;
    };
    let dev = |p: &Path| std::os::unix::fs::MetadataExt::dev(&fs::metadata(p).expect("stat"));
    if dev(tmp.path()) == dev(other.path()) {
        eprintln!("skipped: /dev/shm is on the same filesystem as the store");
        return;
    }
    let mut handoffs = vec![Handoff::Copy];
    if is_root() {
        handoffs.push(Handoff::Overlay);
    }
    for handoff in handoffs {
        let store =
            ArtifactStore::open(&tmp.path().join(format!("store-{handoff}")), Some(handoff))
                .expect("open");
        let src = tmp.path().join("src");
        if !src.exists() {
            sample_tree(&src);
        }
        let digest = store
            .ingest(&src, &Selection::all())
            .expect("ingest")
            .digest;
        let checkout = store
            .checkout(&digest, &other.path().join("wc"))
            .expect("checkout");
        write(&checkout.path().join("new/out.txt"), b"output");
        checkout.release().expect("release");
        assert_eq!(dir_entries(other.path()), 0, "{handoff}");
        assert!(!mount_points().iter().any(|m| m.starts_with(other.path())));
        store.wait_for_releases();
        assert_eq!(dir_entries(&store.root().join("tmp")), 0, "{handoff}");
    }
}

#[test]
fn open_detects_a_mechanism_and_parses_names() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = ArtifactStore::open(&tmp.path().join("store"), None).expect("open");
    eprintln!("detected handoff: {}", store.handoff());
    if is_root() {
        assert_ne!(
            store.handoff(),
            Handoff::Copy,
            "root should get overlay (or reflink) here"
        );
    }
    assert_eq!(
        dir_entries(&store.root().join("tmp")),
        0,
        "probes clean up after themselves"
    );
    assert_eq!(
        "overlay".parse::<Handoff>().expect("parse"),
        Handoff::Overlay
    );
    assert!(matches!(
        "hardlink".parse::<Handoff>(),
        Err(Error::InvalidHandoff { .. })
    ));
    let clone = store.clone();
    assert_eq!(clone.root(), store.root());
}

/// Pseudo-random bytes, so no filesystem can compress or deduplicate them.
fn fill_random(buf: &mut [u8], seed: u64) {
    let mut x = seed | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
}

#[test]
#[ignore = "benchmark: cargo test -p pipewright-artifacts --release -- --ignored --nocapture handoff_benchmark"]
fn handoff_benchmark() {
    const FILES: u64 = 64;
    const FILE_SIZE: usize = 4 << 20;
    const ROUNDS: u32 = 20;

    let tmp = tempfile::tempdir_in(std::env::current_dir().expect("cwd")).expect("tempdir");
    let store = ArtifactStore::open(&tmp.path().join("store"), None).expect("open");
    let src = tmp.path().join("src");
    let mut buf = vec![0u8; FILE_SIZE];
    for i in 0..FILES {
        fill_random(&mut buf, 0x9e37_79b9_7f4a_7c15 ^ i);
        write(&src.join(format!("d{}/f{i}.bin", i % 8)), &buf);
    }
    let started = Instant::now();
    let ingested = store.ingest(&src, &Selection::all()).expect("ingest");
    println!(
        "ingest of {} files, {} MiB: {:.0} ms",
        ingested.files,
        ingested.bytes >> 20,
        started.elapsed().as_secs_f64() * 1000.0
    );
    let tree = store.tree(&ingested.digest).expect("tree");
    // The ingest left 256 MiB of dirty pages; writing them back while the handoffs are timed
    // would measure the disk, not the handoff.
    assert!(Command::new("sync").status().expect("sync").success());

    // Each handoff is timed in two parts: the checkout, which is what an action waits for before
    // it can start, and the release after it finished. `cp -r` is the copy a handoff replaces; the
    // `rm -r` of that copy is timed apart from it, as the counterpart of the release.
    let mut checkout_time = Duration::ZERO;
    let mut release_time = Duration::ZERO;
    let mut slowest_checkout = Duration::ZERO;
    for round in 0..ROUNDS {
        let started = Instant::now();
        let checkout = store
            .checkout(&ingested.digest, &tmp.path().join(format!("wc{round}")))
            .expect("checkout");
        let took = started.elapsed();
        checkout_time += took;
        slowest_checkout = slowest_checkout.max(took);
        assert_eq!(
            dir_entries(checkout.path()),
            8,
            "the working copy shows the artifact"
        );
        let started = Instant::now();
        checkout.release().expect("release");
        release_time += started.elapsed();
    }

    // The same with an action that writes output into its working copy before the release: what
    // the release costs when there are dirty pages to sync (or not).
    const OUTPUT: usize = 16 << 20;
    let mut busy_release_time = Duration::ZERO;
    for round in 0..ROUNDS {
        let checkout = store
            .checkout(&ingested.digest, &tmp.path().join(format!("busy{round}")))
            .expect("checkout");
        for part in 0..OUTPUT / FILE_SIZE {
            fs::write(checkout.path().join(format!("output{part}.bin")), &buf)
                .expect("write output");
        }
        let started = Instant::now();
        checkout.release().expect("release");
        busy_release_time += started.elapsed();
    }
    store.wait_for_releases();
    assert!(Command::new("sync").status().expect("sync").success());

    let mut cp_time = Duration::ZERO;
    let mut rm_time = Duration::ZERO;
    for round in 0..ROUNDS {
        let dest = tmp.path().join(format!("cp{round}"));
        let started = Instant::now();
        let status = Command::new("cp")
            .arg("-r")
            .arg(&tree)
            .arg(&dest)
            .status()
            .expect("cp");
        cp_time += started.elapsed();
        assert!(status.success());
        let started = Instant::now();
        fs::remove_dir_all(&dest).expect("rm");
        rm_time += started.elapsed();
    }

    let per_round = |d: Duration| d.as_secs_f64() * 1000.0 / f64::from(ROUNDS);
    let (checkout_ms, release_ms) = (per_round(checkout_time), per_round(release_time));
    let (cp_ms, rm_ms) = (per_round(cp_time), per_round(rm_time));
    let handoff = store.handoff();
    println!(
        "{handoff} checkout:         {checkout_ms:.3} ms per handoff (slowest {:.3} ms)",
        slowest_checkout.as_secs_f64() * 1000.0
    );
    println!("{handoff} release:          {release_ms:.3} ms per handoff");
    println!(
        "{handoff} release after the action wrote {} MiB: {:.3} ms per handoff",
        OUTPUT >> 20,
        per_round(busy_release_time)
    );
    println!(
        "{handoff} checkout+release: {:.3} ms per handoff",
        checkout_ms + release_ms
    );
    println!("cp -r:                    {cp_ms:.3} ms per copy");
    println!("rm -r of that copy:       {rm_ms:.3} ms per copy");
    println!(
        "ratio cp -r / checkout only:         {:.1}x",
        cp_ms / checkout_ms.max(0.001)
    );
    println!(
        "ratio cp -r / checkout+release:      {:.1}x",
        cp_ms / (checkout_ms + release_ms).max(0.001)
    );
    println!(
        "ratio cp -r + rm -r / checkout+release: {:.1}x",
        (cp_ms + rm_ms) / (checkout_ms + release_ms).max(0.001)
    );
    // Released working copies leave nothing behind once the store collects its garbage (once
    // the artifact is "recorded": its pin dropped).
    let keep = [ingested.digest.clone()].into();
    drop(ingested);
    store.gc(&keep, gc_lock(&store)).expect("gc");
    assert!(!mount_points().iter().any(|m| m.starts_with(tmp.path())));
}

/// The store's gc lock, which nothing else holds in these tests.
fn gc_lock(store: &ArtifactStore) -> pipewright_artifacts::GcLock {
    store
        .try_lock_for_gc()
        .expect("lock file")
        .expect("no ingest holds the store")
}

#[test]
fn gc_waits_for_artifacts_stored_but_not_yet_recorded() {
    let root = tempfile::tempdir().expect("tempdir");
    let store = ArtifactStore::open(root.path(), Some(Handoff::Copy)).expect("open");
    // A second store on the same root stands for another process.
    let other = ArtifactStore::open(root.path(), Some(Handoff::Copy)).expect("open again");
    let dir = root.path().join("out");
    write(&dir.join("f"), b"built");
    let ingested = other.ingest(&dir, &Selection::all()).expect("ingest");
    assert!(
        store.try_lock_for_gc().expect("lock file").is_none(),
        "an artifact on its way to being recorded keeps gc out"
    );
    let copy = ingested.clone();
    drop(ingested);
    assert!(
        store.try_lock_for_gc().expect("lock file").is_none(),
        "clones share the pin"
    );
    drop(copy);
    let lock = gc_lock(&store);

    // While gc holds the store, an ingest waits for it.
    let (started, ended) = std::sync::mpsc::channel();
    let waiting = std::thread::spawn({
        let (other, dir) = (other.clone(), dir.clone());
        move || {
            started.send(()).expect("send");
            other
                .ingest(&dir, &Selection::all())
                .expect("ingest after gc")
        }
    });
    ended.recv().expect("thread started");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        !waiting.is_finished(),
        "the ingest waits while gc holds the store"
    );
    let report = store.gc(&HashSet::new(), lock).expect("gc");
    assert_eq!(
        report.removed, 1,
        "the artifact nothing references is collected"
    );
    let again = waiting.join().expect("ingest thread");
    assert!(store.contains(&again.digest), "stored again once gc let go");
}
