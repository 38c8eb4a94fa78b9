import { describe, expect, it } from "vitest";

import type { ActionExecutionDetail } from "../backend";
import { toneOf } from "../status";
import { billedMinutes, criticalPath, executionsPerMonth, latestAttempts, shownStatus, timeline } from "./execution";

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

describe("critical path and V2 cost", () => {
  const typed = (d: ActionExecutionDetail, category: string, provider: string, owner = "AWS") =>
    ({ ...d, input: { actionTypeId: { category, owner, provider, version: "1" } } }) as unknown as ActionExecutionDetail;

  it("follows what each step waited for, back from the last end", () => {
    const steps = [
      detail("Source", "App", "Succeeded", 0, 1000),
      detail("Build", "Fast", "Succeeded", 1000, 2000),
      detail("Build", "Slow", "Succeeded", 1000, 5000),
      detail("Deploy", "Ship", "Succeeded", 5000, 6000),
    ];
    const path = criticalPath(steps, 10_000);
    expect([...path].sort()).toEqual(["Build-Slow-1000", "Deploy-Ship-5000", "Source-App-0"]);
    expect(path.has("Build-Fast-1000")).toBe(false);
    // A long approval does not make a parallel action look like what the next one waited for.
    const day = [
      detail("Gate", "Approve", "Succeeded", 0, 86_400_000),
      detail("Deploy", "A", "Succeeded", 86_400_100, 86_460_000),
      detail("Deploy", "B", "Succeeded", 86_400_050, 86_400_900),
      detail("Verify", "Check", "Succeeded", 86_460_100, 86_470_000),
    ];
    expect([...criticalPath(day, 0)].sort()).toEqual([
      "Deploy-A-86400100",
      "Gate-Approve-0",
      "Verify-Check-86460100",
    ]);
    expect(criticalPath([], 0).size).toBe(0);
  });

  it("counts each billed attempt rounded up to a minute, approvals and custom actions free", () => {
    const build = typed(detail("Build", "Make", "Succeeded", 0, 61_000), "Build", "CodeBuild");
    const retry = typed(detail("Build", "Make", "Succeeded", 70_000, 71_000), "Build", "CodeBuild");
    const approval = typed(detail("Gate", "Approve", "Succeeded", 80_000, 3_600_000), "Approval", "Manual");
    const custom = typed(detail("Test", "Jenkins", "Succeeded", 0, 600_000), "Test", "Jenkins", "Custom");
    expect(billedMinutes([build, retry, approval, custom], 0)).toBe(3);
    // A running action counts up to now.
    const running = typed(detail("Build", "Make", "InProgress", 0, 0), "Build", "CodeBuild");
    expect(billedMinutes([running], 125_000)).toBe(3);
  });

  it("projects a month from the executions of the last 30 days", () => {
    const day = 86_400_000;
    const now = 100 * day;
    expect(executionsPerMonth([now - day, now - 2 * day, now - 3 * day], now)).toEqual({ count: 3, days: 3, perMonth: 30 });
    expect(executionsPerMonth([now - 60 * day], now).count).toBe(0);
    // Two runs today read as two a day, not thousands a month.
    expect(executionsPerMonth([now - 60_000, now - 120_000], now).perMonth).toBe(60);
  });
});
