import { describe, expect, it } from "vitest";

import type { Report } from "../backend";
import { reportSummary } from "./reports";

const base: Report = {
  name: "unit",
  type: "TEST",
  fileFormat: "JUNITXML",
  status: "FAILED",
  testCases: [],
  codeCoverages: [],
  unreadable: [],
};

describe("a report's summary line", () => {
  it("counts tests by status, as the CLI does", () => {
    const report = { ...base, testSummary: { total: 3, statusCounts: { SUCCEEDED: 2, FAILED: 1 }, durationInNanoSeconds: 5 } };
    expect(reportSummary(report)).toBe("3 tests: 2 SUCCEEDED, 1 FAILED");
    expect(reportSummary({ ...base, testSummary: { total: 0, statusCounts: {}, durationInNanoSeconds: 0 } })).toBe("no tests");
  });

  it("gives line and branch coverage", () => {
    const report: Report = {
      ...base,
      type: "CODE_COVERAGE",
      codeCoverageSummary: {
        lineCoveragePercentage: 75,
        linesCovered: 3,
        linesMissed: 1,
        branchCoveragePercentage: 50,
        branchesCovered: 1,
        branchesMissed: 1,
      },
    };
    expect(reportSummary(report)).toBe("line coverage 75.0% (3/4), branch coverage 50.0% (1/2)");
  });
});
