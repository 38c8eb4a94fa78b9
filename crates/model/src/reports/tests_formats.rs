//! The test report formats: each read into CodeBuild's test cases.

use roxmltree::Node;
use serde_json::Value;

use super::{TestCase, seconds_to_nanos, xml};

/// A failure's message is kept to this many characters, as a summary, not a log.
const MESSAGE_LIMIT: usize = 2000;

fn message(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut kept: String = text.chars().take(MESSAGE_LIMIT).collect();
    if kept.len() < text.len() {
        kept.push('…');
    }
    Some(kept)
}

/// The text of an element and its children.
fn text_of(node: Node<'_, '_>) -> String {
    node.descendants()
        .filter(Node::is_text)
        .filter_map(|n| n.text())
        .collect()
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The message of a failure element: its `message` attribute, else its text.
fn failure_message(node: Node<'_, '_>) -> Option<String> {
    node.attribute("message")
        .and_then(message)
        .or_else(|| message(&text_of(node)))
}

fn wrong_root(file: &str, found: &str, wanted: &str, format: &str) -> String {
    format!("{file}: the root element is <{found}>, not {wanted}: is it {format}?")
}

/// JUnit XML: `<testsuites>` or `<testsuite>`, with `<testcase>`s whose `<failure>`, `<error>`
/// or `<skipped>` says how they ended.
pub fn junit(file: &str, text: &str) -> Result<Vec<TestCase>, String> {
    let document = xml(text).map_err(|e| format!("{file}: {e}"))?;
    let root = document.root_element();
    let root_name = root.tag_name().name();
    if root_name != "testsuites" && root_name != "testsuite" {
        return Err(wrong_root(
            file,
            root_name,
            "<testsuites> or <testsuite>",
            "JUnit XML",
        ));
    }
    let mut out = Vec::new();
    for case in root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "testcase")
    {
        let suite = case
            .ancestors()
            .find(|a| a.is_element() && a.tag_name().name() == "testsuite")
            .and_then(|s| s.attribute("name"))
            .unwrap_or_default();
        let (status, failure) = if let Some(f) = child(case, "failure") {
            ("FAILED", Some(f))
        } else if let Some(e) = child(case, "error") {
            ("ERROR", Some(e))
        } else if let Some(s) = child(case, "skipped") {
            ("SKIPPED", Some(s))
        } else {
            ("SUCCEEDED", None)
        };
        out.push(TestCase {
            test_suite_name: suite.to_owned(),
            prefix: case.attribute("classname").unwrap_or_default().to_owned(),
            name: case.attribute("name").unwrap_or_default().to_owned(),
            status: status.to_owned(),
            duration_in_nano_seconds: case.attribute("time").and_then(seconds_to_nanos),
            message: failure.and_then(failure_message),
            test_raw_data_path: file.to_owned(),
        });
    }
    Ok(out)
}

/// TestNG XML: `<testng-results>` > `<suite>` > `<test>` > `<class>` > `<test-method>`, with
/// configuration methods (`is-config`) left out as TestNG's own reports leave them.
pub fn testng(file: &str, text: &str) -> Result<Vec<TestCase>, String> {
    let document = xml(text).map_err(|e| format!("{file}: {e}"))?;
    let root = document.root_element();
    if root.tag_name().name() != "testng-results" {
        return Err(wrong_root(
            file,
            root.tag_name().name(),
            "<testng-results>",
            "TestNG XML",
        ));
    }
    let mut out = Vec::new();
    for method in root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "test-method")
        .filter(|m| m.attribute("is-config") != Some("true"))
    {
        let class = method
            .ancestors()
            .find(|a| a.tag_name().name() == "class")
            .and_then(|c| c.attribute("name"))
            .unwrap_or_default();
        let suite = method
            .ancestors()
            .find(|a| a.tag_name().name() == "suite")
            .and_then(|s| s.attribute("name"))
            .unwrap_or_default();
        let status = match method.attribute("status").unwrap_or_default() {
            "PASS" => "SUCCEEDED",
            "FAIL" => "FAILED",
            "SKIP" => "SKIPPED",
            _ => "UNKNOWN",
        };
        let failure = method
            .descendants()
            .find(|n| n.tag_name().name() == "message")
            .and_then(|m| message(&text_of(m)));
        out.push(TestCase {
            test_suite_name: suite.to_owned(),
            prefix: class.to_owned(),
            name: method.attribute("name").unwrap_or_default().to_owned(),
            status: status.to_owned(),
            duration_in_nano_seconds: method
                .attribute("duration-ms")
                .and_then(|ms| ms.trim().parse::<u64>().ok())
                .map(|ms| ms * 1_000_000),
            message: failure,
            test_raw_data_path: file.to_owned(),
        });
    }
    Ok(out)
}

/// NUnit XML, version 2 (`<test-results>`, `result="Success|Failure|Error|Ignored|..."`) and
/// version 3 (`<test-run>`, `result="Passed|Failed|Skipped|..."` with a `label`).
pub fn nunit(file: &str, text: &str) -> Result<Vec<TestCase>, String> {
    let document = xml(text).map_err(|e| format!("{file}: {e}"))?;
    let root = document.root_element();
    let root_name = root.tag_name().name();
    if root_name != "test-results" && root_name != "test-run" {
        return Err(wrong_root(
            file,
            root_name,
            "<test-results> (NUnit 2) or <test-run> (NUnit 3)",
            "NUnit XML",
        ));
    }
    let mut out = Vec::new();
    for case in root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "test-case")
    {
        let name = case.attribute("name").unwrap_or_default();
        let full = case.attribute("fullname").unwrap_or(name);
        // NUnit 2 names a case `Namespace.Class.Method`; NUnit 3 gives the class apart.
        let prefix = case
            .attribute("classname")
            .map(str::to_owned)
            .unwrap_or_else(|| {
                full.rsplit_once('.')
                    .map(|(c, _)| c.to_owned())
                    .unwrap_or_default()
            });
        let short = if case.attribute("classname").is_some() {
            name
        } else {
            full.rsplit_once('.').map_or(full, |(_, m)| m)
        };
        let suite = case
            .ancestors()
            .filter(|a| a.tag_name().name() == "test-suite")
            .find(|s| s.attribute("type") == Some("TestFixture"))
            .or_else(|| {
                case.ancestors()
                    .find(|a| a.tag_name().name() == "test-suite")
            })
            .and_then(|s| s.attribute("name"))
            .unwrap_or_default();
        let status = match (
            case.attribute("result").unwrap_or_default(),
            case.attribute("label"),
        ) {
            (_, Some("Error")) => "ERROR",
            ("Success" | "Passed", _) => "SUCCEEDED",
            ("Failure" | "Failed", _) => "FAILED",
            ("Error", _) => "ERROR",
            ("Ignored" | "Skipped" | "NotRunnable", _) => "SKIPPED",
            _ if case.attribute("executed") == Some("False") => "SKIPPED",
            _ => "UNKNOWN",
        };
        let failure = ["failure", "reason"]
            .into_iter()
            .find_map(|element| child(case, element))
            .and_then(|f| child(f, "message"))
            .and_then(|m| message(&text_of(m)));
        let duration = case
            .attribute("duration")
            .or(case.attribute("time"))
            .and_then(seconds_to_nanos);
        out.push(TestCase {
            test_suite_name: suite.to_owned(),
            prefix,
            name: short.to_owned(),
            status: status.to_owned(),
            duration_in_nano_seconds: duration,
            message: failure,
            test_raw_data_path: file.to_owned(),
        });
    }
    Ok(out)
}

/// Visual Studio TRX: `<TestRun>` with `<UnitTestResult outcome=...>`s, whose classes are in
/// the `<TestDefinitions>`.
pub fn trx(file: &str, text: &str) -> Result<Vec<TestCase>, String> {
    let document = xml(text).map_err(|e| format!("{file}: {e}"))?;
    let root = document.root_element();
    if root.tag_name().name() != "TestRun" {
        return Err(wrong_root(
            file,
            root.tag_name().name(),
            "<TestRun>",
            "a Visual Studio TRX file",
        ));
    }
    // Each test's class, by test id: read once, as a run has thousands of results.
    let classes: std::collections::HashMap<&str, &str> = root
        .descendants()
        .filter(|n| n.tag_name().name() == "UnitTest")
        .filter_map(|t| {
            let class = child(t, "TestMethod").and_then(|m| m.attribute("className"))?;
            Some((t.attribute("id")?, class))
        })
        .collect();
    let is_result = |n: &roxmltree::Node| n.is_element() && n.tag_name().name() == "UnitTestResult";
    let run_name = root.attribute("name").unwrap_or_default();
    let mut out = Vec::new();
    // A data-driven test's rows are `InnerResults` of its result, which already counts them.
    for result in root
        .descendants()
        .filter(is_result)
        .filter(|n| !n.ancestors().skip(1).any(|a| is_result(&a)))
    {
        let status = match result.attribute("outcome").unwrap_or_default() {
            "Passed" | "PassedButRunAborted" => "SUCCEEDED",
            "Failed" => "FAILED",
            "NotExecuted" | "NotRunnable" => "SKIPPED",
            "Error" | "Timeout" | "Aborted" => "ERROR",
            _ => "UNKNOWN",
        };
        let failure = result
            .descendants()
            .find(|n| n.tag_name().name() == "ErrorInfo")
            .and_then(|e| child(e, "Message"))
            .and_then(|m| message(&text_of(m)));
        out.push(TestCase {
            test_suite_name: run_name.to_owned(),
            prefix: result
                .attribute("testId")
                .and_then(|id| classes.get(id))
                .map(|class| (*class).to_owned())
                .unwrap_or_default(),
            name: result.attribute("testName").unwrap_or_default().to_owned(),
            status: status.to_owned(),
            duration_in_nano_seconds: result.attribute("duration").and_then(trx_duration),
            message: failure,
            test_raw_data_path: file.to_owned(),
        });
    }
    Ok(out)
}

/// `hh:mm:ss.fffffff`, as TRX writes durations.
fn trx_duration(text: &str) -> Option<u64> {
    let mut parts = text.trim().splitn(3, ':');
    let hours: u64 = parts.next()?.parse().ok()?;
    let minutes: u64 = parts.next()?.parse().ok()?;
    let seconds = seconds_to_nanos(parts.next()?)?;
    Some((hours * 3600 + minutes * 60) * 1_000_000_000 + seconds)
}

/// Cucumber JSON: features, each with scenarios (`elements`) whose steps have results. A
/// scenario fails when a step fails; a background's steps count for the scenario after it.
pub fn cucumber(file: &str, text: &str) -> Result<Vec<TestCase>, String> {
    let features: Vec<Value> = serde_json::from_str(text)
        .map_err(|e| format!("{file}: not Cucumber JSON (a list of features): {e}"))?;
    let mut out = Vec::new();
    for feature in &features {
        let feature_name = feature["name"].as_str().unwrap_or_default();
        let uri = feature["uri"].as_str().unwrap_or(feature_name);
        let mut background: Vec<&Value> = Vec::new();
        for element in feature["elements"].as_array().into_iter().flatten() {
            let steps: Vec<&Value> = element["steps"].as_array().into_iter().flatten().collect();
            if element["type"].as_str() == Some("background") {
                background = steps;
                continue;
            }
            let all: Vec<&Value> = background.iter().copied().chain(steps).collect();
            let statuses: Vec<&str> = all
                .iter()
                .map(|s| s["result"]["status"].as_str().unwrap_or("undefined"))
                .collect();
            let status = if statuses.contains(&"failed") {
                "FAILED"
            } else if statuses
                .iter()
                .any(|s| matches!(*s, "undefined" | "pending" | "ambiguous"))
            {
                "UNKNOWN"
            } else if !statuses.is_empty() && statuses.iter().all(|s| *s == "skipped") {
                "SKIPPED"
            } else {
                "SUCCEEDED"
            };
            let duration = all
                .iter()
                .filter_map(|s| s["result"]["duration"].as_u64())
                .sum::<u64>();
            let failure = all
                .iter()
                .find_map(|s| s["result"]["error_message"].as_str())
                .and_then(message);
            out.push(TestCase {
                test_suite_name: feature_name.to_owned(),
                prefix: uri.to_owned(),
                name: element["name"].as_str().unwrap_or_default().to_owned(),
                status: status.to_owned(),
                duration_in_nano_seconds: Some(duration),
                message: failure,
                test_raw_data_path: file.to_owned(),
            });
        }
    }
    Ok(out)
}
