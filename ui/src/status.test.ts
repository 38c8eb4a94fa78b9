import { describe, expect, it } from "vitest";

import { formatBytes, formatDuration, toneOf } from "./status";

describe("status at a glance", () => {
  it("colours failures red, runs blue and successes green", () => {
    expect(toneOf("Failed")).toBe("bad");
    expect(toneOf("Abandoned")).toBe("bad");
    expect(toneOf("InProgress")).toBe("busy");
    expect(toneOf("Succeeded")).toBe("ok");
    expect(toneOf(undefined)).toBe("idle");
  });

  it("writes durations the way people read them", () => {
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(12_340)).toBe("12.3 s");
    expect(formatDuration(245_000)).toBe("4 min 05 s");
    expect(formatDuration(7_800_000)).toBe("2 h 10 min");
  });
});

describe("sizes", () => {
  it("reads as people read them", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(3_400)).toBe("3.4 kB");
    expect(formatBytes(12_000_000)).toBe("12.0 MB");
    expect(formatBytes(5e15)).toBe("5000.0 TB");
  });
});
