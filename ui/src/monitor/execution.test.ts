import { describe, expect, it } from "vitest";

import type { ActionExecutionDetail } from "../backend";
import { toneOf } from "../status";
import { latestAttempts, shownStatus, timeline } from "./execution";

function detail(stage: string, action: string, status: string, start: number, end: number) {
  return {
    actionExecutionId: `${stage}-${action}-${start}`,
    stageName: stage,
    actionName: action,
    status,
    startTime: new Date(start).toISOString(),
    lastUpdateTime: new Date(end).toISOString(),
  } as ActionExecutionDetail;
}


describe("an execution as the monitor shows it", () => {
  it("shows the latest attempt of a retried action", () => {
    const latest = latestAttempts([
      detail("Build", "a", "Succeeded", 5000, 6000),
      detail("Build", "a", "Failed", 1000, 2000),
    ]);
    expect(latest.get("Build/a")?.status).toBe("Succeeded");
  });

  it("shows a running manual approval as waiting for a person", () => {
    const approval = { name: "Approve", actionTypeId: { category: "Approval", owner: "AWS", provider: "Manual", version: "1" } };
    const build = { name: "Make", actionTypeId: { category: "Build", owner: "AWS", provider: "CodeBuild", version: "1" } };
    expect(shownStatus(approval, "InProgress")).toBe("Waiting for approval");
    expect(toneOf(shownStatus(approval, "InProgress"))).toBe("waiting");
    expect(shownStatus(approval, "Succeeded")).toBe("Succeeded");
    expect(shownStatus(build, "InProgress")).toBe("InProgress");
  });

  it("places timeline bars on the span of the whole execution, a running one up to now", () => {
    const bars = timeline(
      [detail("Build", "b", "InProgress", 3000, 3000), detail("Build", "a", "Succeeded", 1000, 2000)],
      5000,
    );
    expect(bars.totalMs).toBe(4000);
    expect(bars.rows.map((r) => [r.key, r.left, r.width])).toEqual([
      ["Build/a", 0, 0.25],
      ["Build/b", 0.5, 0.5],
    ]);
  });
});
