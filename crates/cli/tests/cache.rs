//! A build's `cache:` between runs, on this machine: the source-relative paths restored before
//! the commands and saved after a build that succeeded, keyed by a hash of a lock file, a
//! changed lock file falling back to the older cache by prefix, `action: restore` saving
//! nothing, and the machine's own absolute folders named as used as they are.

mod common;

use common::{Env, text, write};

fn pipeline(env: &Env, buildspec: &str) -> std::path::PathBuf {
    write(&env.work.join("src/buildspec.yml"), buildspec);
    let file = env.work.join("cached.json");
    write(
        &file,
        &serde_json::json!({
            "name": "cached", "pipelineType": "V2",
            "stages": [
                {"name": "Source", "actions": [{"name": "Src",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "b", "S3ObjectKey": "src.zip"},
                    "outputArtifacts": [{"name": "Src"}]}]},
                {"name": "Build", "actions": [{"name": "Make",
                    "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                    "configuration": {"ProjectName": "shop-build"},
                    "inputArtifacts": [{"name": "Src"}]}]}
            ]
        })
        .to_string(),
    );
    write(
        &env.work.join("cached.pipewright.yaml"),
        "actions:\n  Source/Src: {path: src}\n",
    );
    file
}

const BUILDSPEC: &str = r#"version: 0.2
phases:
  build:
    commands:
      - |
        if [ -f deps/fetched.txt ]; then
          echo "deps from the cache: $(cat deps/fetched.txt)"
        else
          mkdir -p deps && cat lock.txt > deps/fetched.txt && echo "fetched deps"
        fi
cache:
  key: deps-$(codebuild-hash-files lock.txt)
  fallback-keys:
    - deps-
  paths:
    - deps/**/*
    - /var/tmp/pipewright-cache-test/**/*
"#;

fn run_log(env: &Env, file: &std::path::Path) -> String {
    let output = env.run(&env.work, &["run", file.to_str().expect("utf-8")]);
    assert!(output.status.success(), "{}", text(&output));
    env.logs("cached", "Build/Make")
}

#[test]
fn a_cache_is_restored_by_key_or_fallback_and_saved_after_a_build() {
    let env = Env::new();
    write(&env.work.join("src/lock.txt"), "lock one\n");
    let file = pipeline(&env, BUILDSPEC);

    let first = run_log(&env, &file);
    assert!(
        first.contains("Cache: nothing stored for key deps-"),
        "{first}"
    );
    assert!(first.contains("fetched deps"), "{first}");
    assert!(
        first.contains("Cache: saved 1 files as key deps-"),
        "{first}"
    );
    assert!(
        first.contains("Cache path /var/tmp/pipewright-cache-test/**/* is this machine's own"),
        "{first}"
    );

    let second = run_log(&env, &file);
    assert!(
        second.contains("Cache: restored 1 files from key deps-"),
        "{second}"
    );
    assert!(second.contains("deps from the cache: lock one"), "{second}");
    assert!(
        second.contains("is stored already, and a keyed cache is not updated once made"),
        "{second}"
    );

    // A new lock file: a new key, restored from the older cache by its prefix, then saved anew.
    write(&env.work.join("src/lock.txt"), "lock two\n");
    let third = run_log(&env, &file);
    assert!(third.contains("deps from the cache: lock one"), "{third}");
    assert!(
        third.contains("Cache: saved 1 files as key deps-"),
        "{third}"
    );
    let caches = std::fs::read_dir(env.data.join("cache/shop-build"))
        .expect("the project's caches")
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .count();
    assert_eq!(caches, 2, "one entry per key");

    // action: restore restores and saves nothing.
    let restore_only = BUILDSPEC.replace("  fallback-keys:", "  action: restore\n  fallback-keys:");
    write(&env.work.join("src/lock.txt"), "lock three\n");
    let file = pipeline(&env, &restore_only);
    let fourth = run_log(&env, &file);
    assert!(
        fourth.contains("Cache: action is restore; nothing is saved"),
        "{fourth}"
    );
    let caches = std::fs::read_dir(env.data.join("cache/shop-build"))
        .expect("the project's caches")
        .flatten()
        .filter(|entry| entry.path().is_dir())
        .count();
    assert_eq!(caches, 2);
}
