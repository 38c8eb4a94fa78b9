//! `pipewright reports NAME [--execution ID] [--json]`: the test and coverage reports of an
//! execution's builds, each with its counts, its failed tests (with their messages) or its files
//! with the least coverage.

use pipewright_api::ListReportsOutput;
use pipewright_api::model::reports::{ReportKind, TestCase};

use crate::output::style;

/// How many failed tests a report lists.
const LISTED: usize = 20;

/// How many of its least-covered files a coverage report lists.
const LEAST_COVERED: usize = 5;

pub fn print(out: &ListReportsOutput) {
    if out.reports.is_empty() {
        println!(
            "Execution {} made no reports (a CodeBuild action's buildspec names them under reports:)",
            out.pipeline_execution_id
        );
        return;
    }
    for entry in &out.reports {
        let report = &entry.report;
        let tone = match report.status.as_str() {
            "SUCCEEDED" => style::OK,
            "FAILED" => style::ERROR,
            _ => style::WAITING,
        };
        anstream::println!(
            "{}/{}  {} ({})  {}{}{}  {}",
            entry.stage_name,
            entry.action_name,
            report.name,
            report.file_format.as_str(),
            tone.render(),
            report.status,
            tone.render_reset(),
            report.describe()
        );
        match report.kind {
            ReportKind::Test => {
                let failed: Vec<&TestCase> = report
                    .test_cases
                    .iter()
                    .filter(|t| t.status == "FAILED" || t.status == "ERROR")
                    .collect();
                for case in failed.iter().take(LISTED) {
                    anstream::println!(
                        "  {}✘ {}{}{}{}",
                        style::ERROR.render(),
                        if case.prefix.is_empty() {
                            String::new()
                        } else {
                            format!("{} ", case.prefix)
                        },
                        case.name,
                        case.message
                            .as_deref()
                            .map(|m| format!(": {}", m.lines().next().unwrap_or_default()))
                            .unwrap_or_default(),
                        style::ERROR.render_reset()
                    );
                }
                if failed.len() > LISTED {
                    println!("  ... and {} more", failed.len() - LISTED);
                }
            }
            ReportKind::CodeCoverage => {
                let mut files: Vec<_> = report.code_coverages.iter().collect();
                files.sort_by(|a, b| {
                    let share = |f: &&pipewright_api::model::reports::FileCoverage| {
                        f.lines_covered as f64 / (f.lines_covered + f.lines_missed).max(1) as f64
                    };
                    share(a).total_cmp(&share(b))
                });
                for file in files.iter().take(LEAST_COVERED) {
                    let total = file.lines_covered + file.lines_missed;
                    println!(
                        "  {:5.1}%  {}  ({}/{} lines)",
                        file.lines_covered as f64 * 100.0 / total.max(1) as f64,
                        file.file_path,
                        file.lines_covered,
                        total
                    );
                }
            }
        }
        for why in &report.unreadable {
            anstream::println!(
                "  {}not read: {why}{}",
                style::WAITING.render(),
                style::WAITING.render_reset()
            );
        }
    }
}
