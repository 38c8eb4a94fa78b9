import { describe, expect, it } from "vitest";

import { changesOnly, diffLines } from "./diff";

describe("changes against the saved version", () => {
  it("marks added and removed lines and keeps the rest", () => {
    const diff = diffLines("a\nb\nc\nd", "a\nc\nx\nd");
    expect(diff.map((l) => `${l.kind[0]}${l.text}`)).toEqual(["sa", "rb", "sc", "ax", "sd"]);
  });

  it("shows nothing changed for identical text", () => {
    expect(changesOnly(diffLines("a\nb", "a\nb"))).toEqual([]);
  });

  it("keeps a little context around each change and marks the gaps", () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n");
    const after = before.replace("line 10", "line ten");
    const shown = changesOnly(diffLines(before, after), 1);
    expect(shown.map((l) => (l === null ? "…" : `${l.kind[0]}${l.text}`))).toEqual([
      "sline 9",
      "rline 10",
      "aline ten",
      "sline 11",
    ]);
  });
});
