import { describe, expect, it } from "vitest";

import type { LocalAction } from "../backend";
import { choicesOf, parseVariables, problems, shownChoice, variablesText } from "./choices";

const source: LocalAction = {
  key: "Source/App",
  provider: "Source/CodeStarSourceConnection",
  kind: "source",
  how: { kind: "needsFolder" },
  proposed: true,
  description: "needs a folder",
};

describe("the local settings form", () => {
  it("offers a source a folder (its working copy by default) or simulation", () => {
    expect(choicesOf(source).map((c) => c.kind)).toEqual(["folder", "simulate"]);
    expect(shownChoice(source)).toEqual({ kind: "folder", path: "", workingCopy: true });
  });

  it("names what is missing before saving", () => {
    expect(problems([source])).toEqual(["Choose a folder for Source/App"]);
    const chosen = { ...source, how: { kind: "folder" as const, path: "/src/app", workingCopy: true } };
    expect(problems([chosen])).toEqual([]);
  });

  it("reads variables back from NAME=value lines, values with = in them included", () => {
    expect(parseVariables("ApiUrl=https://x/?a=b\n\n StackId = s-1 \n")).toEqual({
      variables: { ApiUrl: "https://x/?a=b", StackId: "s-1" },
    });
    expect(parseVariables("ApiUrl")).toEqual({ error: "line 1: write it as NAME=value" });
    expect(variablesText({ A: "1", B: "x=y" })).toBe("A=1\nB=x=y");
  });
});
