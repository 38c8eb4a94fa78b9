import { describe, expect, it } from "vitest";

import type { ActionExecutionDetail, Stage } from "../backend";
import { latestAttempts, stageStatus, timeline } from "./execution";

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

const stage = { name: "Build", actions: [{ name: "a" }, { name: "b" }] } as Stage;

describe("an execution as the monitor shows it", () => {
  it("shows the latest attempt of a retried action", () => {
    const latest = latestAttempts([
      detail("Build", "a", "Succeeded", 5000, 6000),
      detail("Build", "a", "Failed", 1000, 2000),
    ]);
    expect(latest.get("Build/a")?.status).toBe("Succeeded");
  });

  it("a stage fails when an action failed and runs while one still runs", () => {
    const failed = latestAttempts([detail("Build", "a", "Failed", 0, 1), detail("Build", "b", "Succeeded", 0, 1)]);
    expect(stageStatus(stage, failed)).toBe("Failed");
    const running = latestAttempts([detail("Build", "a", "InProgress", 0, 1), detail("Build", "b", "Failed", 0, 1)]);
    expect(stageStatus(stage, running)).toBe("InProgress");
    expect(stageStatus(stage, new Map())).toBeUndefined();
    const done = latestAttempts([detail("Build", "a", "Succeeded", 0, 1), detail("Build", "b", "Succeeded", 0, 1)]);
    expect(stageStatus(stage, done)).toBe("Succeeded");
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
