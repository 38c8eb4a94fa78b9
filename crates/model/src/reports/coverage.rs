//! The coverage report formats: each read into per-file line and branch counts.

use indexmap::IndexMap;
use serde_json::Value;

use super::{FileCoverage, xml};

fn count(node: roxmltree::Node<'_, '_>, attribute: &str) -> u64 {
    node.attribute(attribute)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn root_named<'a, 'i>(
    document: &'a roxmltree::Document<'i>,
    wanted: &str,
    format: &str,
) -> Result<roxmltree::Node<'a, 'i>, String> {
    let root = document.root_element();
    if root.tag_name().name() == wanted {
        Ok(root)
    } else {
        Err(format!(
            "the root element is <{}>, not <{wanted}>: is it {format}?",
            root.tag_name().name()
        ))
    }
}

/// Clover XML: each `<file>`'s `<metrics>`, its statements as lines and its conditionals as
/// branches.
pub fn clover(text: &str) -> Result<Vec<FileCoverage>, String> {
    let document = xml(text)?;
    let root = root_named(&document, "coverage", "Clover XML")?;
    Ok(root
        .descendants()
        .filter(|n| n.tag_name().name() == "file")
        .filter_map(|file| {
            let metrics = file.children().find(|c| c.tag_name().name() == "metrics")?;
            let statements = count(metrics, "statements");
            let covered = count(metrics, "coveredstatements");
            let conditionals = count(metrics, "conditionals");
            let covered_conditionals = count(metrics, "coveredconditionals");
            Some(FileCoverage {
                file_path: file
                    .attribute("path")
                    .or(file.attribute("name"))
                    .unwrap_or_default()
                    .to_owned(),
                lines_covered: covered,
                lines_missed: statements.saturating_sub(covered),
                branches_covered: covered_conditionals,
                branches_missed: conditionals.saturating_sub(covered_conditionals),
            })
        })
        .collect())
}

/// Cobertura XML: the `<line>`s of each `<class>`, by file (several classes can share one
/// file; a line counts once, covered when any class's hits it); branches from
/// `condition-coverage="50% (1/2)"`.
pub fn cobertura(text: &str) -> Result<Vec<FileCoverage>, String> {
    let document = xml(text)?;
    let root = root_named(&document, "coverage", "Cobertura XML")?;
    // File → line number → (hit, covered branches, branches).
    let mut files: IndexMap<String, IndexMap<u64, (bool, u64, u64)>> = IndexMap::new();
    for class in root
        .descendants()
        .filter(|n| n.tag_name().name() == "class")
    {
        let file = class.attribute("filename").unwrap_or_default().to_owned();
        let lines = files.entry(file).or_default();
        for line in class
            .descendants()
            .filter(|n| n.tag_name().name() == "line")
            // Lines of methods repeat the class's own lines.
            .filter(|n| {
                n.ancestors()
                    .skip(1)
                    .find(|a| matches!(a.tag_name().name(), "class" | "method"))
                    .is_some_and(|a| a.tag_name().name() == "class")
            })
        {
            let number = count(line, "number");
            let hit = count(line, "hits") > 0;
            let (covered, total) = line
                .attribute("condition-coverage")
                .and_then(condition_counts)
                .unwrap_or((0, 0));
            let entry = lines.entry(number).or_insert((false, 0, 0));
            entry.0 |= hit;
            entry.1 = entry.1.max(covered);
            entry.2 = entry.2.max(total);
        }
    }
    Ok(files
        .into_iter()
        .map(|(file, lines)| {
            let covered = lines.values().filter(|l| l.0).count() as u64;
            let branches: u64 = lines.values().map(|l| l.2).sum();
            let branches_covered: u64 = lines.values().map(|l| l.1).sum();
            FileCoverage {
                file_path: file,
                lines_covered: covered,
                lines_missed: lines.len() as u64 - covered,
                branches_covered,
                branches_missed: branches.saturating_sub(branches_covered),
            }
        })
        .collect())
}

/// `50% (1/2)` → (1, 2).
fn condition_counts(text: &str) -> Option<(u64, u64)> {
    let inner = text.split_once('(')?.1.split_once(')')?.0;
    let (covered, total) = inner.split_once('/')?;
    Some((covered.trim().parse().ok()?, total.trim().parse().ok()?))
}

/// JaCoCo XML: each `<sourcefile>`'s LINE and BRANCH counters, its path its package's and its
/// name.
pub fn jacoco(text: &str) -> Result<Vec<FileCoverage>, String> {
    let document = xml(text)?;
    let root = root_named(&document, "report", "JaCoCo XML")?;
    Ok(root
        .descendants()
        .filter(|n| n.tag_name().name() == "sourcefile")
        .map(|file| {
            let package = file
                .parent()
                .filter(|p| p.tag_name().name() == "package")
                .and_then(|p| p.attribute("name"))
                .unwrap_or_default();
            let name = file.attribute("name").unwrap_or_default();
            let counter = |kind: &str| {
                file.children()
                    .find(|c| c.tag_name().name() == "counter" && c.attribute("type") == Some(kind))
                    .map(|c| (count(c, "covered"), count(c, "missed")))
                    .unwrap_or((0, 0))
            };
            let (lines_covered, lines_missed) = counter("LINE");
            let (branches_covered, branches_missed) = counter("BRANCH");
            FileCoverage {
                file_path: if package.is_empty() {
                    name.to_owned()
                } else {
                    format!("{package}/{name}")
                },
                lines_covered,
                lines_missed,
                branches_covered,
                branches_missed,
            }
        })
        .collect())
}

/// SimpleCov's `.resultset.json`: per test command, per file, the hits of each line (`null`
/// for lines that are not code) and of each branch. Several commands merge: a line or branch is
/// covered when any of them hit it.
pub fn simplecov(text: &str) -> Result<Vec<FileCoverage>, String> {
    let results: IndexMap<String, Value> = serde_json::from_str(text)
        .map_err(|e| format!("not SimpleCov JSON (.resultset.json): {e}"))?;
    // File → line hits, branch hits (by the branch's key).
    type Hits = (Vec<Option<u64>>, IndexMap<String, u64>);
    let mut files: IndexMap<String, Hits> = IndexMap::new();
    for (command, result) in &results {
        let Some(coverage) = result["coverage"].as_object() else {
            return Err(format!(
                "not SimpleCov JSON: the result of {command} has no \"coverage\""
            ));
        };
        for (file, data) in coverage {
            // Older SimpleCov writes the line hits alone, newer ones {"lines": ..., "branches": ...}.
            let lines = data.get("lines").unwrap_or(data);
            let entry = files.entry(file.clone()).or_default();
            for (index, hits) in lines.as_array().into_iter().flatten().enumerate() {
                if entry.0.len() <= index {
                    entry.0.resize(index + 1, None);
                }
                if let Some(hits) = hits.as_u64() {
                    entry.0[index] = Some(entry.0[index].unwrap_or(0) + hits);
                }
            }
            for (condition, branches) in data["branches"].as_object().into_iter().flatten() {
                for (branch, hits) in branches.as_object().into_iter().flatten() {
                    *entry.1.entry(format!("{condition}{branch}")).or_insert(0) +=
                        hits.as_u64().unwrap_or(0);
                }
            }
        }
    }
    Ok(files
        .into_iter()
        .map(|(file, (lines, branches))| {
            let code: Vec<u64> = lines.into_iter().flatten().collect();
            let covered = code.iter().filter(|h| **h > 0).count() as u64;
            let branches_covered = branches.values().filter(|h| **h > 0).count() as u64;
            FileCoverage {
                file_path: file,
                lines_covered: covered,
                lines_missed: code.len() as u64 - covered,
                branches_covered,
                branches_missed: branches.len() as u64 - branches_covered,
            }
        })
        .collect())
}
