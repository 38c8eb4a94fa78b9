//! Test and coverage reports through the binary: a build whose tests write a JUnit XML report
//! (one test failing) and a Cobertura coverage report, and a report group whose file is not what
//! its format says; the build's own exit status decides the action, the reports are read either
//! way, named in the log, and shown by `pipewright reports` (and `--json`, as CodeBuild shapes
//! them).

mod common;

use common::{Env, text, write};

const BUILDSPEC: &str = r#"version: 0.2
phases:
  build:
    commands:
      - mkdir -p out/tests out/coverage
      - |
        cat > out/tests/cart.xml <<'XML'
        <?xml version="1.0"?>
        <testsuite name="cart" tests="3">
          <testcase classname="shop.CartTest" name="adds" time="0.25"/>
          <testcase classname="shop.CartTest" name="totals" time="0.5">
            <failure message="expected 3 but was 2">AssertionError</failure>
          </testcase>
          <testcase classname="shop.CartTest" name="later"><skipped/></testcase>
        </testsuite>
        XML
      - |
        cat > out/coverage/cobertura.xml <<'XML'
        <coverage line-rate="0.75"><packages><package name="shop"><classes>
          <class name="cart" filename="shop/cart.py"><lines>
            <line number="1" hits="1"/><line number="2" hits="0"/><line number="3" hits="2" branch="true" condition-coverage="50% (1/2)"/><line number="4" hits="1"/>
          </lines></class>
        </classes></package></packages></coverage>
        XML
      - echo 'not xml at all' > out/tests/broken.xml
      - exit "$BUILD_EXIT"
reports:
  unit:
    files: cart.xml
    base-directory: out/tests
  smoke:
    files: ['**/broken.xml']
    file-format: junitxml
  coverage:
    files: [out/coverage/cobertura.xml]
    file-format: CoberturaXml
  missing:
    files: nothing-here.xml
artifacts:
  files: out/**/*
"#;

fn pipeline(env: &Env, exit: u8) -> std::path::PathBuf {
    write(&env.work.join("src/buildspec.yml"), BUILDSPEC);
    let file = env.work.join("tested.json");
    write(
        &file,
        &serde_json::json!({
            "name": "tested", "pipelineType": "V2",
            "stages": [
                {"name": "Source", "actions": [{"name": "Src",
                    "actionTypeId": {"category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
                    "configuration": {"S3Bucket": "b", "S3ObjectKey": "src.zip"},
                    "outputArtifacts": [{"name": "Src"}]}]},
                {"name": "Test", "actions": [{"name": "Unit",
                    "actionTypeId": {"category": "Test", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                    "configuration": {"ProjectName": "tests",
                        "EnvironmentVariables": format!("[{{\"name\":\"BUILD_EXIT\",\"value\":\"{exit}\"}}]")},
                    "inputArtifacts": [{"name": "Src"}], "outputArtifacts": [{"name": "Results"}]}]}
            ]
        })
        .to_string(),
    );
    write(
        &env.work.join("tested.pipewright.yaml"),
        "actions:\n  Source/Src: {path: src}\n",
    );
    file
}

#[test]
fn reports_are_read_whatever_the_build_s_outcome_and_shown() {
    let env = Env::new();
    let file = pipeline(&env, 0);
    let ran = env.run(&env.work, &["run", file.to_str().expect("utf-8")]);
    assert!(
        ran.status.success(),
        "a failed test fails the report, not the build: {}",
        text(&ran)
    );

    let logs = env.logs("tested", "Test/Unit");
    assert!(
        logs.contains(
            "Report group unit (JUNITXML): 3 tests: 1 SUCCEEDED, 1 FAILED, 1 SKIPPED, FAILED"
        ),
        "{logs}"
    );
    assert!(
        logs.contains("Report group smoke: out/tests/broken.xml: not well-formed XML"),
        "{logs}"
    );
    assert!(
        logs.contains("Report group smoke (JUNITXML): no tests, INCOMPLETE"),
        "{logs}"
    );
    assert!(
        logs.contains("Report group missing: no files matched nothing-here.xml"),
        "{logs}"
    );

    let json = env.json(&["reports", "tested", "--json"]);
    let reports = json["reports"].as_array().expect("reports");
    let names: Vec<&str> = reports
        .iter()
        .map(|r| r["report"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["coverage", "smoke", "unit"], "{json}");
    let unit = &reports[2];
    assert_eq!(unit["stageName"], "Test");
    assert_eq!(unit["actionName"], "Unit");
    assert_eq!(unit["report"]["type"], "TEST");
    assert_eq!(unit["report"]["status"], "FAILED");
    assert_eq!(unit["report"]["testSummary"]["total"], 3);
    assert_eq!(
        unit["report"]["testSummary"]["durationInNanoSeconds"],
        750_000_000u64
    );
    let totals = &unit["report"]["testCases"][1];
    assert_eq!(totals["status"], "FAILED");
    assert_eq!(totals["message"], "expected 3 but was 2");
    assert_eq!(totals["testRawDataPath"], "cart.xml");
    let coverage = &reports[0]["report"];
    assert_eq!(coverage["type"], "CODE_COVERAGE");
    assert_eq!(coverage["codeCoverageSummary"]["linesCovered"], 3);
    assert_eq!(
        coverage["codeCoverageSummary"]["lineCoveragePercentage"],
        75.0
    );
    assert_eq!(coverage["codeCoverageSummary"]["branchesMissed"], 1);
    assert_eq!(reports[1]["report"]["status"], "INCOMPLETE");

    let shown = env.ok(&["reports", "tested"]);
    assert!(
        shown.contains("Test/Unit  unit (JUNITXML)  FAILED  3 tests"),
        "{shown}"
    );
    assert!(
        shown.contains("✘ shop.CartTest totals: expected 3 but was 2"),
        "{shown}"
    );
    assert!(
        shown.contains("line coverage 75.0% (3/4), branch coverage 50.0% (1/2)"),
        "{shown}"
    );
    assert!(
        shown.contains(" 75.0%  shop/cart.py  (3/4 lines)"),
        "{shown}"
    );

    // A build that fails still has its reports.
    let file = pipeline(&env, 3);
    let ran = env.run(&env.work, &["run", file.to_str().expect("utf-8")]);
    assert!(!ran.status.success());
    let json = env.json(&["reports", "tested", "--json"]);
    assert_eq!(json["reports"].as_array().map(Vec::len), Some(3), "{json}");
}
