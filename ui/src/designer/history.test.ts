import { describe, expect, it } from "vitest";

import { edit, redo, start, undo } from "./history";

describe("undo and redo", () => {
  it("walks back and forth through edits", () => {
    let h = start("a");
    h = edit(h, "b");
    h = edit(h, "c");
    h = undo(h);
    expect(h.present).toBe("b");
    h = undo(h);
    expect(h.present).toBe("a");
    expect(undo(h).present).toBe("a");
    h = redo(h);
    expect(h.present).toBe("b");
  });

  it("a new edit after undo drops the redo steps", () => {
    let h = edit(edit(start("a"), "b"), "c");
    h = edit(undo(h), "d");
    expect(h.future).toEqual([]);
    expect(redo(h).present).toBe("d");
    expect(undo(h).present).toBe("b");
  });

  it("edits of one group (typing in a field) undo as one step", () => {
    let h = start("");
    h = edit(h, "n", "name");
    h = edit(h, "na", "name");
    h = edit(h, "nam", "name");
    expect(undo(h).present).toBe("");
  });
});
