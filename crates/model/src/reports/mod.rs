//! Test and coverage reports, read as CodeBuild reads them from a buildspec's `reports:` section:
//! the test formats JUnit XML, Cucumber JSON, TestNG XML, NUnit XML (2 and 3) and Visual Studio
//! TRX, and the coverage formats Clover XML, Cobertura XML, JaCoCo XML and SimpleCov JSON. Each
//! file becomes test cases (with CodeBuild's statuses SUCCEEDED, FAILED, ERROR, SKIPPED and
//! UNKNOWN, a duration and the failure's message) or per-file line and branch coverage; a report
//! group's files make one report with CodeBuild's summary (totals by status, or coverage
//! percentages).
//!
//! Pure: text in, reports out. The engine's CodeBuild runner finds the files, and the store keeps
//! the reports with the action execution they came from.

mod coverage;
mod tests_formats;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// CodeBuild's report formats (`file-format`, case-insensitive; JUNITXML by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[ts(rename = "ReportFormat")]
pub enum Format {
    Junitxml,
    Cucumberjson,
    Testngxml,
    Nunitxml,
    Nunit3xml,
    Visualstudiotrx,
    Cloverxml,
    Coberturaxml,
    Jacocoxml,
    Simplecov,
}

impl Format {
    pub const ALL: [Format; 10] = [
        Format::Junitxml,
        Format::Cucumberjson,
        Format::Testngxml,
        Format::Nunitxml,
        Format::Nunit3xml,
        Format::Visualstudiotrx,
        Format::Cloverxml,
        Format::Coberturaxml,
        Format::Jacocoxml,
        Format::Simplecov,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Junitxml => "JUNITXML",
            Format::Cucumberjson => "CUCUMBERJSON",
            Format::Testngxml => "TESTNGXML",
            Format::Nunitxml => "NUNITXML",
            Format::Nunit3xml => "NUNIT3XML",
            Format::Visualstudiotrx => "VISUALSTUDIOTRX",
            Format::Cloverxml => "CLOVERXML",
            Format::Coberturaxml => "COBERTURAXML",
            Format::Jacocoxml => "JACOCOXML",
            Format::Simplecov => "SIMPLECOV",
        }
    }

    /// As a buildspec writes it, in any case.
    pub fn parse(text: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(text.trim()))
    }

    pub fn kind(self) -> ReportKind {
        match self {
            Format::Cloverxml | Format::Coberturaxml | Format::Jacocoxml | Format::Simplecov => {
                ReportKind::CodeCoverage
            }
            _ => ReportKind::Test,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ReportKind {
    Test,
    CodeCoverage,
}

/// One test case, as CodeBuild keeps it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct TestCase {
    pub test_suite_name: String,
    /// The class or feature the test is in.
    pub prefix: String,
    pub name: String,
    /// SUCCEEDED, FAILED, ERROR, SKIPPED or UNKNOWN.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_in_nano_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The report file it was read from, relative to where the report group's files are.
    pub test_raw_data_path: String,
}

/// One source file's coverage.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FileCoverage {
    pub file_path: String,
    pub lines_covered: u64,
    pub lines_missed: u64,
    pub branches_covered: u64,
    pub branches_missed: u64,
}

/// What one file holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Parsed {
    Tests(Vec<TestCase>),
    Coverage(Vec<FileCoverage>),
}

/// Reads one report file of `format`. `file` names it in the test cases; errors say what in the
/// file is not as the format wants.
pub fn parse(format: Format, file: &str, text: &str) -> Result<Parsed, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    match format {
        Format::Junitxml => tests_formats::junit(file, text).map(Parsed::Tests),
        Format::Cucumberjson => tests_formats::cucumber(file, text).map(Parsed::Tests),
        Format::Testngxml => tests_formats::testng(file, text).map(Parsed::Tests),
        Format::Nunitxml | Format::Nunit3xml => tests_formats::nunit(file, text).map(Parsed::Tests),
        Format::Visualstudiotrx => tests_formats::trx(file, text).map(Parsed::Tests),
        Format::Cloverxml => coverage::clover(text).map(Parsed::Coverage),
        Format::Coberturaxml => coverage::cobertura(text).map(Parsed::Coverage),
        Format::Jacocoxml => coverage::jacoco(text).map(Parsed::Coverage),
        Format::Simplecov => coverage::simplecov(text).map(Parsed::Coverage),
    }
    .map_err(|why| {
        if why.starts_with(file) {
            why
        } else {
            format!("{file}: {why}")
        }
    })
}

/// A report group's report: its test cases or its files' coverage, and the summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct Report {
    /// The report group's name as the buildspec writes it.
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ReportKind,
    pub file_format: Format,
    /// SUCCEEDED; FAILED when a test failed or errored; INCOMPLETE when a file could not be read.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_summary: Option<TestSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_coverage_summary: Option<CoverageSummary>,
    #[serde(default)]
    pub test_cases: Vec<TestCase>,
    #[serde(default)]
    pub code_coverages: Vec<FileCoverage>,
    /// Files that matched but could not be read, each with why.
    #[serde(default)]
    pub unreadable: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct TestSummary {
    pub total: u64,
    pub status_counts: IndexMap<String, u64>,
    pub duration_in_nano_seconds: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CoverageSummary {
    pub line_coverage_percentage: f64,
    pub lines_covered: u64,
    pub lines_missed: u64,
    pub branch_coverage_percentage: f64,
    pub branches_covered: u64,
    pub branches_missed: u64,
}

impl Report {
    /// The report of a group from what its files held.
    pub fn new(name: &str, format: Format, parsed: Vec<Parsed>, unreadable: Vec<String>) -> Report {
        let mut test_cases = Vec::new();
        let mut code_coverages = Vec::new();
        for file in parsed {
            match file {
                Parsed::Tests(cases) => test_cases.extend(cases),
                Parsed::Coverage(files) => code_coverages.extend(files),
            }
        }
        let kind = format.kind();
        let (test_summary, code_coverage_summary) = match kind {
            ReportKind::Test => (Some(summarize_tests(&test_cases)), None),
            ReportKind::CodeCoverage => (None, Some(summarize_coverage(&code_coverages))),
        };
        let failed = test_cases
            .iter()
            .any(|t| t.status == "FAILED" || t.status == "ERROR");
        let status = if !unreadable.is_empty() {
            "INCOMPLETE"
        } else if failed {
            "FAILED"
        } else {
            "SUCCEEDED"
        };
        Report {
            name: name.to_owned(),
            kind,
            file_format: format,
            status: status.to_owned(),
            test_summary,
            code_coverage_summary,
            test_cases,
            code_coverages,
            unreadable,
        }
    }

    /// One line for a log or a terminal: `12 tests: 11 SUCCEEDED, 1 FAILED` or
    /// `line coverage 81.2% (130/160), branch coverage 50.0% (4/8)`.
    pub fn describe(&self) -> String {
        match (&self.test_summary, &self.code_coverage_summary) {
            (Some(tests), _) if tests.total == 0 => "no tests".to_owned(),
            (Some(tests), _) => format!(
                "{} tests: {}",
                tests.total,
                tests
                    .status_counts
                    .iter()
                    .map(|(status, count)| format!("{count} {status}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (None, Some(c)) => format!(
                "line coverage {:.1}% ({}/{}), branch coverage {:.1}% ({}/{})",
                c.line_coverage_percentage,
                c.lines_covered,
                c.lines_covered + c.lines_missed,
                c.branch_coverage_percentage,
                c.branches_covered,
                c.branches_covered + c.branches_missed
            ),
            (None, None) => String::new(),
        }
    }
}

fn summarize_tests(cases: &[TestCase]) -> TestSummary {
    let mut status_counts = IndexMap::new();
    for status in ["SUCCEEDED", "FAILED", "ERROR", "SKIPPED", "UNKNOWN"] {
        let count = cases.iter().filter(|c| c.status == status).count() as u64;
        if count > 0 {
            status_counts.insert(status.to_owned(), count);
        }
    }
    TestSummary {
        total: cases.len() as u64,
        status_counts,
        duration_in_nano_seconds: cases
            .iter()
            .filter_map(|c| c.duration_in_nano_seconds)
            .sum(),
    }
}

fn percentage(covered: u64, missed: u64) -> f64 {
    if covered + missed == 0 {
        0.0
    } else {
        (covered as f64) * 100.0 / ((covered + missed) as f64)
    }
}

fn summarize_coverage(files: &[FileCoverage]) -> CoverageSummary {
    let lines_covered = files.iter().map(|f| f.lines_covered).sum();
    let lines_missed = files.iter().map(|f| f.lines_missed).sum();
    let branches_covered = files.iter().map(|f| f.branches_covered).sum();
    let branches_missed = files.iter().map(|f| f.branches_missed).sum();
    CoverageSummary {
        line_coverage_percentage: percentage(lines_covered, lines_missed),
        lines_covered,
        lines_missed,
        branch_coverage_percentage: percentage(branches_covered, branches_missed),
        branches_covered,
        branches_missed,
    }
}

/// A duration in seconds as XML reports write it (`0.012`), in nanoseconds.
fn seconds_to_nanos(text: &str) -> Option<u64> {
    let seconds: f64 = text.trim().replace(',', "").parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1e9).round() as u64)
}

/// An XML document, or what is wrong with it.
fn xml(text: &str) -> Result<roxmltree::Document<'_>, String> {
    roxmltree::Document::parse_with_options(
        text,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        },
    )
    .map_err(|e| format!("not well-formed XML: {e}"))
}

#[cfg(test)]
mod tests;
