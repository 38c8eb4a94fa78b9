use super::*;

const FULL: &str = r#"version: 0.2

run-as: root

env:
  shell: bash
  variables:
    JAVA_HOME: "/usr/lib/jvm/java-17"
    RETRIES: 3
    RATIO: 1.10
    DEBUG: true
    EMPTY:
  parameter-store:
    LOGIN_PASSWORD: /CodeBuild/dockerLoginPassword
  secrets-manager:
    TOKEN: prod/token:key
  exported-variables:
    - IMAGE_TAG
    - BUILD_ID

phases:
  install:
    on-failure: ABORT
    runtime-versions:
      java: corretto17
      python: 3.10
    commands:
      - echo Entered the install phase...
      - apt-get update -y
  pre_build:
    commands:
      - echo "it's $HOME"
  build:
    on-failure: CONTINUE
    commands:
      - |
        if [ -f Makefile ]; then
          make all
        fi
      - mvn install
    finally:
      - echo cleaning up
  post_build:
    commands:
      - echo Build completed on `date`

reports:
  arn:aws:codebuild:us-west-2:123456789012:report-group/report-group-name-1:
    files:
      - "**/*"
    base-directory: 'target/tests/reports'
    discard-paths: no

artifacts:
  files:
    - target/messageUtil-1.0.jar
  name: $(date +%Y-%m-%d)
  discard-paths: yes
  base-directory: build
  exclude-paths:
    - "**/*.tmp"
  secondary-artifacts:
    artifact1:
      files:
        - directory/file1
      discard-paths: "no"
    artifact2:
      files:
        - directory/file2

cache:
  paths:
    - '/root/.m2/**/*'
"#;

#[test]
fn full_buildspec_parses() {
    let spec = parse(FULL).expect("parses");
    assert_eq!(spec.version, Version::V0_2);
    assert_eq!(spec.run_as.as_deref(), Some("root"));
    assert_eq!(spec.env.shell.as_deref(), Some("bash"));
    assert_eq!(
        spec.env.parameter_store["LOGIN_PASSWORD"],
        "/CodeBuild/dockerLoginPassword"
    );
    assert_eq!(spec.env.secrets_manager["TOKEN"], "prod/token:key");
    assert_eq!(spec.env.exported_variables, ["IMAGE_TAG", "BUILD_ID"]);

    let install = spec.phases.install.as_ref().expect("install");
    assert_eq!(install.on_failure, OnFailure::Abort);
    assert_eq!(install.runtime_versions["java"], "corretto17");
    assert_eq!(install.runtime_versions["python"], "3.10");
    assert_eq!(install.commands.len(), 2);
    let pre_build = spec.phases.pre_build.as_ref().expect("pre_build");
    assert_eq!(pre_build.commands, [r#"echo "it's $HOME""#]);
    let build = spec.phases.build.as_ref().expect("build");
    assert_eq!(build.on_failure, OnFailure::Continue);
    assert_eq!(
        build.commands[0],
        "if [ -f Makefile ]; then\n  make all\nfi\n"
    );
    assert_eq!(build.finally, ["echo cleaning up"]);
    let post_build = spec.phases.post_build.as_ref().expect("post_build");
    assert_eq!(post_build.commands, ["echo Build completed on `date`"]);

    let names: Vec<&str> = spec
        .phases_in_order()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, ["INSTALL", "PRE_BUILD", "BUILD", "POST_BUILD"]);

    let artifacts = spec.artifacts.as_ref().expect("artifacts");
    assert_eq!(artifacts.files, ["target/messageUtil-1.0.jar"]);
    assert_eq!(artifacts.name.as_deref(), Some("$(date +%Y-%m-%d)"));
    assert!(artifacts.discard_paths);
    assert_eq!(artifacts.base_directory.as_deref(), Some("build"));
    assert_eq!(artifacts.exclude_paths, ["**/*.tmp"]);
    let secondary: Vec<&str> = artifacts
        .secondary_artifacts
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(secondary, ["artifact1", "artifact2"]);
    assert!(!artifacts.secondary_artifacts["artifact1"].discard_paths);
    assert_eq!(
        artifacts.secondary_artifacts["artifact2"].files,
        ["directory/file2"]
    );
}

#[test]
fn scalar_variables_become_the_strings_they_were_written_as() {
    let spec = parse(FULL).expect("parses");
    let variables: Vec<(&str, &str)> = spec
        .env
        .variables
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        variables,
        [
            ("JAVA_HOME", "/usr/lib/jvm/java-17"),
            ("RETRIES", "3"),
            ("RATIO", "1.10"),
            ("DEBUG", "true"),
            ("EMPTY", ""),
        ]
    );
}

#[test]
fn only_present_phases_are_listed() {
    let spec = parse(
        "version: 0.2\nphases:\n  build:\n    commands: [make]\n  install:\n    commands: [true]\n",
    )
    .expect("parses");
    let names: Vec<&str> = spec
        .phases_in_order()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(names, ["INSTALL", "BUILD"]);
    assert_eq!(spec.env, Env::default());
    assert_eq!(spec.artifacts, None);
}

#[test]
fn discard_paths_accepts_every_boolean_spelling() {
    for (text, expected) in [
        ("yes", true),
        ("no", false),
        ("true", true),
        ("false", false),
        ("\"yes\"", true),
        ("'no'", false),
    ] {
        let yaml = format!(
            "version: 0.2\nphases:\n  build:\n    commands: [make]\nartifacts:\n  files: [a]\n  discard-paths: {text}\n"
        );
        let spec = parse(&yaml).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(
            spec.artifacts.map(|a| a.discard_paths),
            Some(expected),
            "{text}"
        );
    }
}

#[test]
fn versions_0_1_and_0_2_are_read_and_others_refused_by_name() {
    let spec = parse("version: 0.1\nphases:\n  build:\n    commands: [make]\n").expect("0.1");
    assert_eq!(spec.version, Version::V0_1);
    let spec = parse("version: '0.2'\nphases:\n  build:\n    commands: [make]\n").expect("0.2");
    assert_eq!(spec.version, Version::V0_2);

    let error = parse("version: 1.0\nphases:\n  build:\n    commands: [make]\n")
        .expect_err("1.0 is refused");
    assert!(error.message.contains("`1.0`"), "{error}");
    assert!(error.message.contains("0.1 and 0.2"), "{error}");
    assert_eq!(error.path.as_deref(), Some("/version"));
    assert_eq!(error.line, Some(1));
}

#[test]
fn one_string_where_a_list_is_expected_is_a_list_of_one() {
    // As AWS's ECS tutorial writes it, and as people write single commands.
    let spec = parse(
        "version: 0.2\nenv:\n  exported-variables: IMAGE_TAG\nphases:\n  build:\n    commands: make all\n    finally: echo done\nartifacts:\n  files: imagedefinitions.json\n  exclude-paths: '**/*.tmp'\n",
    )
    .expect("parses");
    let build = spec.phases.build.as_ref().expect("build");
    assert_eq!(build.commands, ["make all"]);
    assert_eq!(build.finally, ["echo done"]);
    assert_eq!(spec.env.exported_variables, ["IMAGE_TAG"]);
    let artifacts = spec.artifacts.expect("artifacts");
    assert_eq!(artifacts.files, ["imagedefinitions.json"]);
    assert_eq!(artifacts.exclude_paths, ["**/*.tmp"]);

    // `commands:` with nothing after it is no commands, not an error.
    let spec =
        parse("version: 0.2\nphases:\n  install:\n    commands:\n  build:\n    commands: [make]\n")
            .expect("parses");
    assert_eq!(
        spec.phases.install.expect("install").commands,
        Vec::<String>::new()
    );
}

#[test]
fn a_byte_order_mark_and_crlf_line_ends_read_as_plain_text() {
    let text = "\u{feff}version: 0.2\r\nphases:\r\n  build:\r\n    commands:\r\n      - |\r\n        echo one\r\n        echo two\r\n      - make\r\n";
    let spec = parse(text).expect("parses");
    let build = spec.phases.build.expect("build");
    assert_eq!(build.commands, ["echo one\necho two\n", "make"]);
}

#[test]
fn the_shell_is_bash_or_sh_and_windows_shells_say_why_not() {
    for shell in ["bash", "sh", "/bin/bash", "/bin/sh"] {
        let text = format!(
            "version: 0.2\nenv:\n  shell: {shell}\nphases:\n  build:\n    commands: [make]\n"
        );
        let spec = parse(&text).unwrap_or_else(|e| panic!("{shell}: {e}"));
        assert_eq!(spec.env.shell.as_deref(), Some(shell));
    }
    for shell in ["powershell.exe", "cmd.exe", "pwsh"] {
        let text = format!(
            "version: 0.2\nenv:\n  shell: {shell}\nphases:\n  build:\n    commands: [dir]\n"
        );
        let error = parse(&text).expect_err(shell);
        assert!(
            error.message.contains("Windows builds do not run here"),
            "{error}"
        );
        assert_eq!(error.path.as_deref(), Some("/env/shell"), "{error}");
        assert_eq!(error.line, Some(3), "{error}");
    }
    let error =
        parse("version: 0.2\nenv:\n  shell: zsh\nphases:\n  build:\n    commands: [make]\n")
            .expect_err("zsh");
    assert!(error.message.contains("`zsh`"), "{error}");
}

#[test]
fn run_as_is_read_at_the_top_and_per_phase() {
    let spec = parse("version: 0.2\nrun-as: builder\nphases:\n  install:\n    run-as: root\n    commands: [apt-get update]\n  build:\n    commands: [make]\n")
        .expect("parses");
    assert_eq!(spec.run_as.as_deref(), Some("builder"));
    assert_eq!(
        spec.phases.install.expect("install").run_as.as_deref(),
        Some("root")
    );
    assert_eq!(spec.phases.build.expect("build").run_as, None);
}

#[test]
fn a_batch_buildspec_needs_no_phases_of_its_own() {
    let spec = parse("version: 0.2\nbatch:\n  fast-fail: false\n  build-list:\n    - identifier: linux\n      buildspec: ci/linux.yml\n")
        .expect("parses");
    assert_eq!(spec.phases, Phases::default());
    let batch = spec.batch.expect("batch").expect("a good batch");
    assert_eq!(batch.builds[0].identifier, "linux");
}

#[test]
fn what_no_local_build_does_is_listed_with_its_path() {
    let spec = parse(FULL).expect("parses");
    let paths: Vec<&str> = spec
        .not_done_locally
        .iter()
        .map(|n| n.path.as_str())
        .collect();
    assert!(
        paths.is_empty(),
        "reports and cache are done locally: {paths:?}"
    );

    let spec = parse(
        "version: 0.2\nenv:\n  git-credential-helper: yes\n  proxy:\n    upload-artifacts: yes\nphases:\n  biuld:\n    commands: [x]\n  build:\n    comands: [make]\nartifacts:\n  files: [a]\n  enable-symlinks: yes\n  s3-prefix: builds\nsteps: []\n",
    )
    .expect("parses");
    let paths: Vec<&str> = spec
        .not_done_locally
        .iter()
        .map(|n| n.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "/steps",
            "/env/proxy",
            "/env/git-credential-helper",
            "/phases/biuld",
            "/phases/build/comands",
            "/artifacts/enable-symlinks",
            "/artifacts/s3-prefix",
        ]
    );

    let spec = parse("version: 0.2\nphases:\n  build:\n    commands: [make]\n").expect("parses");
    assert_eq!(spec.not_done_locally, []);
}

#[test]
fn a_bad_type_has_a_position_and_a_path() {
    // A command that looks like a mapping is a classic buildspec mistake: `- echo a: b`.
    let error = parse("version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n")
        .expect_err("a mapping is not a command");
    assert_eq!(error.line, Some(5), "{error}");
    assert!(error.column.is_some(), "{error}");
    assert_eq!(
        error.path.as_deref(),
        Some("/phases/build/commands/0"),
        "{error}"
    );
    let shown = error.to_string();
    assert!(shown.starts_with("line 5, column "), "{shown}");
    assert!(shown.contains("at /phases/build/commands/0: "), "{shown}");
}

#[test]
fn a_bad_on_failure_value_is_reported_where_it_is() {
    let error =
        parse("version: 0.2\nphases:\n  build:\n    on-failure: RETRY\n    commands: [make]\n")
            .expect_err("RETRY is not supported");
    assert_eq!(error.line, Some(4), "{error}");
    assert_eq!(
        error.path.as_deref(),
        Some("/phases/build/on-failure"),
        "{error}"
    );
    assert!(error.message.contains("ABORT or CONTINUE"), "{error}");
}

#[test]
fn a_yaml_syntax_error_has_a_position() {
    let error =
        parse("version: 0.2\nphases:\n  build:\n    commands: [make\n").expect_err("syntax");
    assert!(error.line.is_some(), "{error}");
    assert!(!error.message.contains('\n'), "{error}");
}

#[test]
fn missing_phases_is_an_error() {
    let error = parse("version: 0.2\nenv:\n  variables:\n    A: b\n").expect_err("no phases");
    assert_eq!(error.path.as_deref(), Some("/phases"));
    assert!(error.message.contains("phases"), "{error}");

    let error = parse("version: 0.2\nphases: {}\n").expect_err("empty phases");
    assert_eq!(error.path.as_deref(), Some("/phases"));
    assert_eq!(error.line, Some(2), "{error}");

    let error = parse("version: 0.2\nphases:\n  biuld:\n    commands: [make]\n")
        .expect_err("misspelt phase");
    assert_eq!(error.path.as_deref(), Some("/phases"));
}

#[test]
fn missing_version_and_empty_text_are_errors() {
    let error = parse("phases:\n  build:\n    commands: [make]\n").expect_err("no version");
    assert!(error.message.contains("version"), "{error}");
    let error = parse("  \n").expect_err("empty");
    assert!(error.message.contains("empty"), "{error}");
}

#[test]
fn reports_and_cache_are_read_as_codebuild_reads_them() {
    let spec = parse(FULL).expect("parses");
    let group =
        &spec.reports["arn:aws:codebuild:us-west-2:123456789012:report-group/report-group-name-1"];
    assert_eq!(group.files, ["**/*"]);
    assert_eq!(
        group.base_directory.as_deref(),
        Some("target/tests/reports")
    );
    assert!(!group.discard_paths);
    assert_eq!(group.file_format, None, "JUNITXML when not given");
    let cache = spec.cache.expect("cache");
    assert_eq!(cache.paths, ["/root/.m2/**/*"]);
    assert_eq!(
        (cache.key, cache.action),
        (None, CacheAction::RestoreAndSave)
    );

    let spec = parse(
        "version: 0.2\nphases:\n  build:\n    commands: [make]\nreports:\n  unit:\n    files: junit.xml\n    file-format: junitxml\n    discard-paths: yes\n    typo: 1\ncache:\n  key: npm-$(codebuild-hash-files package-lock.json)\n  fallback-keys: [npm-]\n  action: restore\n  paths: [node_modules/**/*]\n",
    )
    .expect("parses");
    assert_eq!(spec.reports["unit"].files, ["junit.xml"]);
    assert!(spec.reports["unit"].discard_paths);
    let cache = spec.cache.expect("cache");
    assert_eq!(cache.fallback_keys, ["npm-"]);
    assert_eq!(cache.action, CacheAction::Restore);
    let paths: Vec<&str> = spec
        .not_done_locally
        .iter()
        .map(|n| n.path.as_str())
        .collect();
    assert_eq!(paths, ["/reports/unit/typo"]);
    let error = parse("version: 0.2\nphases:\n  build:\n    commands: [make]\ncache:\n  action: keep\n  paths: [x]\n")
        .expect_err("an unknown action");
    assert!(error.to_string().contains("restore or save"), "{error}");
}
