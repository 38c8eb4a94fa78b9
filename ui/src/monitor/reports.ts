// What the monitor shows of a build's reports: one line of counts each, as the CLI prints it.
import type { Report } from "../backend";

/** `3 tests: 1 SUCCEEDED, 1 FAILED` or `line coverage 75.0% (3/4), branch coverage 50.0% (1/2)`. */
export function reportSummary(report: Report): string {
  const tests = report.testSummary;
  if (tests) {
    if (tests.total === 0) return "no tests";
    const counts = Object.entries(tests.statusCounts).map(([status, count]) => `${count} ${status}`);
    return `${tests.total} tests: ${counts.join(", ")}`;
  }
  const c = report.codeCoverageSummary;
  if (!c) return "";
  return (
    `line coverage ${c.lineCoveragePercentage.toFixed(1)}% (${c.linesCovered}/${c.linesCovered + c.linesMissed}), ` +
    `branch coverage ${c.branchCoveragePercentage.toFixed(1)}% (${c.branchesCovered}/${c.branchesCovered + c.branchesMissed})`
  );
}
