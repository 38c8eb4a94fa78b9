//! Each format read from a file shaped as its tools write it.

use super::*;

fn tests(format: Format, text: &str) -> Vec<TestCase> {
    match parse(format, "reports/out", text).expect("parses") {
        Parsed::Tests(cases) => cases,
        Parsed::Coverage(_) => panic!("a test format"),
    }
}

fn coverage(format: Format, text: &str) -> Vec<FileCoverage> {
    match parse(format, "cov", text).expect("parses") {
        Parsed::Coverage(files) => files,
        Parsed::Tests(_) => panic!("a coverage format"),
    }
}

fn statuses(cases: &[TestCase]) -> Vec<(&str, &str)> {
    cases
        .iter()
        .map(|c| (c.name.as_str(), c.status.as_str()))
        .collect()
}

#[test]
fn junit_reads_nested_suites_and_every_outcome() {
    let text = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="all">
  <testsuite name="cart" tests="4" time="0.5">
    <testcase classname="shop.CartTest" name="adds" time="0.012"/>
    <testcase classname="shop.CartTest" name="totals" time="0.1">
      <failure message="expected 3 but was 2" type="AssertionError">at CartTest.java:21</failure>
    </testcase>
    <testcase classname="shop.CartTest" name="connects"><error>Connection refused</error></testcase>
    <testcase classname="shop.CartTest" name="later"><skipped/></testcase>
    <testsuite name="inner"><testcase classname="shop.Inner" name="deep" time="1,000.5"/></testsuite>
  </testsuite>
</testsuites>"#;
    let cases = tests(Format::Junitxml, text);
    assert_eq!(
        statuses(&cases),
        [
            ("adds", "SUCCEEDED"),
            ("totals", "FAILED"),
            ("connects", "ERROR"),
            ("later", "SKIPPED"),
            ("deep", "SUCCEEDED")
        ]
    );
    assert_eq!(cases[1].message.as_deref(), Some("expected 3 but was 2"));
    assert_eq!(cases[2].message.as_deref(), Some("Connection refused"));
    assert_eq!(cases[0].duration_in_nano_seconds, Some(12_000_000));
    assert_eq!(cases[4].duration_in_nano_seconds, Some(1_000_500_000_000));
    assert_eq!(cases[4].test_suite_name, "inner");
    assert_eq!(cases[1].prefix, "shop.CartTest");
    let report = Report::new(
        "unit",
        Format::Junitxml,
        vec![Parsed::Tests(cases)],
        Vec::new(),
    );
    assert_eq!(report.status, "FAILED");
    assert_eq!(
        report.describe(),
        "5 tests: 2 SUCCEEDED, 1 FAILED, 1 ERROR, 1 SKIPPED"
    );
}

#[test]
fn a_file_that_is_not_the_format_says_what_it_is() {
    let error = parse(Format::Junitxml, "out/x.xml", "<coverage/>").expect_err("not junit");
    assert!(
        error.contains("out/x.xml: the root element is <coverage>"),
        "{error}"
    );
    let error = parse(Format::Junitxml, "out/x.xml", "<testsuite><testcase").expect_err("broken");
    assert!(error.contains("not well-formed XML"), "{error}");
    let error = parse(Format::Cucumberjson, "c.json", "{}").expect_err("not a list");
    assert!(error.contains("not Cucumber JSON"), "{error}");
}

#[test]
fn testng_leaves_configuration_methods_out() {
    let text = r#"<testng-results skipped="0" failed="1" total="2" passed="1">
  <suite name="Regression" duration-ms="40">
    <test name="api">
      <class name="com.shop.ApiTest">
        <test-method status="PASS" signature="setUp()" name="setUp" is-config="true" duration-ms="1"/>
        <test-method status="PASS" name="lists" duration-ms="12"/>
        <test-method status="FAIL" name="creates" duration-ms="20">
          <exception class="java.lang.AssertionError"><message><![CDATA[expected [201] but found [500]]]></message></exception>
        </test-method>
        <test-method status="SKIP" name="deletes" duration-ms="0"/>
      </class>
    </test>
  </suite>
</testng-results>"#;
    let cases = tests(Format::Testngxml, text);
    assert_eq!(
        statuses(&cases),
        [
            ("lists", "SUCCEEDED"),
            ("creates", "FAILED"),
            ("deletes", "SKIPPED")
        ]
    );
    assert_eq!(
        cases[1].message.as_deref(),
        Some("expected [201] but found [500]")
    );
    assert_eq!(cases[1].duration_in_nano_seconds, Some(20_000_000));
    assert_eq!(
        (cases[0].test_suite_name.as_str(), cases[0].prefix.as_str()),
        ("Regression", "com.shop.ApiTest")
    );
}

#[test]
fn nunit_2_and_3_map_their_results() {
    let v2 = r#"<test-results name="Shop.Tests.dll" total="3">
  <test-suite type="TestFixture" name="CartTests">
    <results>
      <test-case name="Shop.Tests.CartTests.Adds" executed="True" result="Success" success="True" time="0.005"/>
      <test-case name="Shop.Tests.CartTests.Totals" executed="True" result="Failure" success="False" time="0.010">
        <failure><message><![CDATA[Expected: 3 But was: 2]]></message></failure>
      </test-case>
      <test-case name="Shop.Tests.CartTests.Later" executed="False" result="Ignored"><reason><message>not yet</message></reason></test-case>
    </results>
  </test-suite>
</test-results>"#;
    let cases = tests(Format::Nunitxml, v2);
    assert_eq!(
        statuses(&cases),
        [
            ("Adds", "SUCCEEDED"),
            ("Totals", "FAILED"),
            ("Later", "SKIPPED")
        ]
    );
    assert_eq!(cases[1].prefix, "Shop.Tests.CartTests");
    assert_eq!(cases[1].message.as_deref(), Some("Expected: 3 But was: 2"));
    let v3 = r#"<test-run id="2" testcasecount="3" result="Failed">
  <test-suite type="TestFixture" name="OrderTests" fullname="Shop.OrderTests">
    <test-case name="Places" fullname="Shop.OrderTests.Places" classname="Shop.OrderTests" result="Passed" duration="0.020"/>
    <test-case name="Ships" fullname="Shop.OrderTests.Ships" classname="Shop.OrderTests" result="Failed" label="Error" duration="0.1">
      <failure><message>System.NullReferenceException</message></failure>
    </test-case>
    <test-case name="Maybe" classname="Shop.OrderTests" result="Inconclusive"/>
  </test-suite>
</test-run>"#;
    let cases = tests(Format::Nunit3xml, v3);
    assert_eq!(
        statuses(&cases),
        [
            ("Places", "SUCCEEDED"),
            ("Ships", "ERROR"),
            ("Maybe", "UNKNOWN")
        ]
    );
    assert_eq!(cases[0].test_suite_name, "OrderTests");
    assert_eq!(cases[0].duration_in_nano_seconds, Some(20_000_000));
}

#[test]
fn trx_finds_each_result_s_class_in_the_definitions() {
    let text = r#"<?xml version="1.0" encoding="utf-8"?>
<TestRun id="1" name="build@agent 2026-12-06" xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <Results>
    <UnitTestResult testId="t1" testName="Adds" outcome="Passed" duration="00:00:00.0123000"/>
    <UnitTestResult testId="t2" testName="Totals" outcome="Failed" duration="00:00:01.5000000">
      <Output><ErrorInfo><Message>Assert.AreEqual failed. Expected:&lt;3&gt;. Actual:&lt;2&gt;.</Message></ErrorInfo></Output>
    </UnitTestResult>
    <UnitTestResult testId="t3" testName="Later" outcome="NotExecuted"/>
    <UnitTestResult testId="t4" testName="Rows" outcome="Passed" resultType="DataDrivenTest">
      <InnerResults>
        <UnitTestResult testId="t4" testName="Rows (1)" outcome="Passed"/>
        <UnitTestResult testId="t4" testName="Rows (2)" outcome="Passed"/>
      </InnerResults>
    </UnitTestResult>
  </Results>
  <TestDefinitions>
    <UnitTest id="t1" name="Adds"><TestMethod className="Shop.CartTests" name="Adds"/></UnitTest>
    <UnitTest id="t2" name="Totals"><TestMethod className="Shop.CartTests" name="Totals"/></UnitTest>
  </TestDefinitions>
</TestRun>"#;
    let cases = tests(Format::Visualstudiotrx, text);
    assert_eq!(
        statuses(&cases),
        [
            ("Adds", "SUCCEEDED"),
            ("Totals", "FAILED"),
            ("Later", "SKIPPED"),
            ("Rows", "SUCCEEDED")
        ],
        "a data-driven test counts once, not once more for each of its rows"
    );
    assert_eq!(cases[1].prefix, "Shop.CartTests");
    assert_eq!(cases[1].duration_in_nano_seconds, Some(1_500_000_000));
    assert_eq!(
        cases[1].message.as_deref(),
        Some("Assert.AreEqual failed. Expected:<3>. Actual:<2>.")
    );
}

#[test]
fn cucumber_scenarios_take_their_steps_and_background() {
    let text = r#"[{"uri": "features/cart.feature", "name": "Cart", "elements": [
      {"type": "background", "name": "", "steps": [{"result": {"status": "passed", "duration": 1000}}]},
      {"type": "scenario", "name": "adding an item", "steps": [
        {"result": {"status": "passed", "duration": 2000}}, {"result": {"status": "passed", "duration": 3000}}]},
      {"type": "scenario", "name": "paying", "steps": [
        {"result": {"status": "failed", "duration": 500, "error_message": "card declined"}},
        {"result": {"status": "skipped"}}]},
      {"type": "scenario", "name": "refunds", "steps": [{"result": {"status": "undefined"}}]}
    ]}]"#;
    let cases = tests(Format::Cucumberjson, text);
    assert_eq!(
        statuses(&cases),
        [
            ("adding an item", "SUCCEEDED"),
            ("paying", "FAILED"),
            ("refunds", "UNKNOWN")
        ]
    );
    assert_eq!(cases[0].duration_in_nano_seconds, Some(6000));
    assert_eq!(cases[1].message.as_deref(), Some("card declined"));
    assert_eq!(cases[0].prefix, "features/cart.feature");
}

#[test]
fn coverage_formats_count_lines_and_branches_per_file() {
    let clover = r#"<coverage generated="1"><project timestamp="1">
  <metrics statements="20" coveredstatements="15" conditionals="4" coveredconditionals="1"/>
  <package name="app"><file name="cart.js" path="/src/app/cart.js">
    <metrics statements="10" coveredstatements="8" conditionals="4" coveredconditionals="1"/>
  </file></package>
  <file name="util.js" path="/src/util.js"><metrics statements="10" coveredstatements="7" conditionals="0" coveredconditionals="0"/></file>
</project></coverage>"#;
    let files = coverage(Format::Cloverxml, clover);
    assert_eq!(files.len(), 2);
    assert_eq!(
        (
            files[0].file_path.as_str(),
            files[0].lines_covered,
            files[0].lines_missed
        ),
        ("/src/app/cart.js", 8, 2)
    );
    assert_eq!(
        (files[0].branches_covered, files[0].branches_missed),
        (1, 3)
    );

    let cobertura = r#"<?xml version="1.0" ?>
<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">
<coverage line-rate="0.75" branch-rate="0.5" version="7.4">
  <packages><package name="shop"><classes>
    <class name="cart.py" filename="shop/cart.py" line-rate="0.75">
      <methods><method name="total"><lines><line number="3" hits="1"/></lines></method></methods>
      <lines>
        <line number="1" hits="1"/><line number="2" hits="0"/>
        <line number="3" hits="4" branch="true" condition-coverage="50% (1/2)"/><line number="4" hits="1"/>
      </lines>
    </class>
    <class name="Cart.Inner" filename="shop/cart.py"><lines><line number="2" hits="3"/></lines></class>
  </classes></package></packages>
</coverage>"#;
    let files = coverage(Format::Coberturaxml, cobertura);
    assert_eq!(files.len(), 1, "two classes of one file are one file");
    assert_eq!((files[0].lines_covered, files[0].lines_missed), (4, 0));
    assert_eq!(
        (files[0].branches_covered, files[0].branches_missed),
        (1, 1)
    );

    let jacoco = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd">
<report name="shop"><package name="com/shop">
  <class name="com/shop/Cart" sourcefilename="Cart.java"><counter type="LINE" missed="9" covered="9"/></class>
  <sourcefile name="Cart.java">
    <line nr="3" mi="0" ci="3" mb="0" cb="0"/>
    <counter type="INSTRUCTION" missed="30" covered="70"/><counter type="BRANCH" missed="2" covered="6"/>
    <counter type="LINE" missed="5" covered="20"/>
  </sourcefile>
  <counter type="LINE" missed="5" covered="20"/>
</package></report>"#;
    let files = coverage(Format::Jacocoxml, jacoco);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].file_path, "com/shop/Cart.java");
    assert_eq!((files[0].lines_covered, files[0].lines_missed), (20, 5));
    assert_eq!(
        (files[0].branches_covered, files[0].branches_missed),
        (6, 2)
    );

    let simplecov = r#"{
  "RSpec": {"coverage": {
    "/app/lib/cart.rb": {"lines": [null, 1, 0, 2, null],
      "branches": {"[:if, 0, 3, 4, 3, 10]": {"[:then, 1, 3, 6, 3, 8]": 2, "[:else, 2, 3, 4, 3, 10]": 0}}},
    "/app/lib/old.rb": [1, 0]
  }, "timestamp": 1700000000},
  "Minitest": {"coverage": {"/app/lib/cart.rb": {"lines": [null, 0, 1, 0, null]}}, "timestamp": 1700000001}
}"#;
    let files = coverage(Format::Simplecov, simplecov);
    assert_eq!(files.len(), 2);
    assert_eq!(
        (files[0].lines_covered, files[0].lines_missed),
        (3, 0),
        "merged: any command's hit covers"
    );
    assert_eq!(
        (files[0].branches_covered, files[0].branches_missed),
        (1, 1)
    );
    assert_eq!(
        (files[1].lines_covered, files[1].lines_missed),
        (1, 1),
        "the older lines-only shape"
    );

    let report = Report::new(
        "coverage",
        Format::Jacocoxml,
        vec![Parsed::Coverage(files_of_jacoco())],
        Vec::new(),
    );
    assert_eq!(
        report.describe(),
        "line coverage 80.0% (20/25), branch coverage 75.0% (6/8)"
    );
    assert_eq!(report.status, "SUCCEEDED");
}

fn files_of_jacoco() -> Vec<FileCoverage> {
    vec![FileCoverage {
        file_path: "com/shop/Cart.java".to_owned(),
        lines_covered: 20,
        lines_missed: 5,
        branches_covered: 6,
        branches_missed: 2,
    }]
}

#[test]
fn formats_are_named_in_any_case_and_a_report_with_an_unreadable_file_is_incomplete() {
    assert_eq!(Format::parse("junitxml"), Some(Format::Junitxml));
    assert_eq!(Format::parse("CoberturaXml"), Some(Format::Coberturaxml));
    assert_eq!(Format::parse("XUNIT"), None);
    let report = Report::new(
        "unit",
        Format::Junitxml,
        Vec::new(),
        vec!["a.xml: not well-formed XML".to_owned()],
    );
    assert_eq!(report.status, "INCOMPLETE");
}
