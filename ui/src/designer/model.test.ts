import { describe, expect, it } from "vitest";

import type { Action, PipelineDeclaration } from "../backend";
import {
  addAction,
  addressOf,
  artifactFlow,
  artifactsAvailableTo,
  artifactUse,
  moveAction,
  moveStage,
  nudgeAction,
  removeAction,
  runOrderGroups,
  uniqueName,
} from "./model";

function action(name: string, runOrder?: number, extra: Partial<Action> = {}): Action {
  return {
    name,
    actionTypeId: { category: "Compute", owner: "AWS", provider: "Commands", version: "1" },
    ...(runOrder === undefined ? {} : { runOrder }),
    ...extra,
  } as Action;
}

function pipeline(...stages: Action[][]): PipelineDeclaration {
  return {
    name: "demo",
    stages: stages.map((actions, i) => ({ name: `S${i}`, actions })),
  } as PipelineDeclaration;
}

/** A stage as the designer draws it: run-order groups of action names. */
function drawn(p: PipelineDeclaration, stage: number): string[][] {
  const s = p.stages[stage]!;
  return runOrderGroups(s).map((g) => g.actions.map((i) => s.actions[i]!.name));
}

describe("run-order groups", () => {
  it("groups equal run orders, lowest first, with a missing runOrder counted as 1", () => {
    const p = pipeline([action("c", 3), action("a"), action("b", 1), action("d", 3)]);
    expect(runOrderGroups(p.stages[0]!)).toEqual([
      { runOrder: 1, actions: [1, 2] },
      { runOrder: 3, actions: [0, 3] },
    ]);
  });
});

describe("dragging an action", () => {
  const start = pipeline([action("a"), action("b"), action("c", 2)], [action("x")]);

  it("into another group of the same stage runs it in parallel there", () => {
    const next = moveAction(start, { stage: 0, action: 0 }, { kind: "group", stage: 0, group: 1, position: 1 });
    // It keeps its place in the file, so only its runOrder changes.
    expect(drawn(next, 0)).toEqual([["b"], ["a", "c"]]);
    expect(next.stages[0]!.actions.map((a) => a.name)).toEqual(["a", "b", "c"]);
    expect(next.stages[0]!.actions.find((a) => a.name === "a")!.runOrder).toBe(2);
  });

  it("between two neighbouring run orders moves the later ones along, as no number is free between them", () => {
    const next = moveAction(start, { stage: 0, action: 1 }, { kind: "between", stage: 0, beforeGroup: 1 });
    expect(drawn(next, 0)).toEqual([["a"], ["b"], ["c"]]);
    expect(next.stages[0]!.actions.map((a) => [a.name, a.runOrder])).toEqual([
      ["a", undefined],
      ["b", 2],
      ["c", 3],
    ]);
  });

  it("out of a group it made up alone changes only its own run order", () => {
    const next = moveAction(start, { stage: 0, action: 2 }, { kind: "group", stage: 0, group: 0, position: 0 });
    expect(drawn(next, 0)).toEqual([["c", "a", "b"]]);
    expect(next.stages[0]!.actions.map((a) => a.runOrder ?? 1)).toEqual([1, 1, 1]);
  });

  it("between run orders with a free number between them changes that action alone", () => {
    const p = pipeline([action("a", 1), action("b", 3), action("c", 5), action("d", 7)]);
    const next = moveAction(p, { stage: 0, action: 3 }, { kind: "between", stage: 0, beforeGroup: 1 });
    expect(drawn(next, 0)).toEqual([["a"], ["d"], ["b"], ["c"]]);
    expect(next.stages[0]!.actions.map((a) => [a.name, a.runOrder])).toEqual([
      ["a", 1],
      ["b", 3],
      ["c", 5],
      ["d", 2],
    ]);
    // The others are the very objects they were: nothing about them changed.
    [0, 1, 2].forEach((i) => expect(next.stages[0]!.actions[i]).toBe(p.stages[0]!.actions[i]));
    const joined = moveAction(p, { stage: 0, action: 0 }, { kind: "group", stage: 0, group: 2, position: 1 });
    expect(joined.stages[0]!.actions.map((a) => [a.name, a.runOrder])).toEqual([
      ["a", 5],
      ["b", 3],
      ["c", 5],
      ["d", 7],
    ]);
  });

  it("renumbers the stage only when the run orders are full up to 999", () => {
    const p = pipeline([action("a", 998), action("b", 999), action("c", 999)]);
    const next = moveAction(p, { stage: 0, action: 2 }, { kind: "between", stage: 0, beforeGroup: 1 });
    expect(drawn(next, 0)).toEqual([["a"], ["c"], ["b"]]);
    expect(Math.max(...next.stages[0]!.actions.map((a) => a.runOrder ?? 1))).toBeLessThanOrEqual(999);
  });

  it("to another stage takes it out of the first and into the second", () => {
    const next = moveAction(start, { stage: 0, action: 2 }, { kind: "between", stage: 1, beforeGroup: 0 });
    expect(drawn(next, 0)).toEqual([["a", "b"]]);
    expect(drawn(next, 1)).toEqual([["c"], ["x"]]);
    expect(next.stages[1]!.actions.map((a) => a.runOrder ?? 1)).toEqual([1, 2]);
  });

  it("later within its own group counts the places it left", () => {
    const p = pipeline([action("a"), action("b"), action("c")]);
    const next = moveAction(p, { stage: 0, action: 0 }, { kind: "group", stage: 0, group: 0, position: 2 });
    expect(drawn(next, 0)).toEqual([["b", "a", "c"]]);
  });

  it("back where it was returns the very same declaration (no undo step, nothing to save)", () => {
    expect(moveAction(start, { stage: 0, action: 2 }, { kind: "group", stage: 0, group: 1, position: 0 })).toBe(start);
    expect(moveAction(start, { stage: 0, action: 0 }, { kind: "group", stage: 0, group: 0, position: 0 })).toBe(start);
  });

  it("into a stage with an action of the same name gives it a name of its own there", () => {
    const p = pipeline([action("Build")], [action("Build")]);
    const next = moveAction(p, { stage: 0, action: 0 }, { kind: "between", stage: 1, beforeGroup: 1 });
    expect(drawn(next, 1)).toEqual([["Build"], ["Build-2"]]);
  });

  it("keeps fields the designer does not know", () => {
    const p = pipeline([action("a", 1, { futureField: { kept: true } } as Partial<Action>), action("b", 2)]);
    const next = moveAction(p, { stage: 0, action: 0 }, { kind: "group", stage: 0, group: 1, position: 1 });
    expect(next.stages[0]!.actions[0]).toMatchObject({ name: "a", runOrder: 2 });
    expect((next.stages[0]!.actions[0] as Record<string, unknown>).futureField).toEqual({ kept: true });
    expect((next.stages[0]!.actions[1] as Record<string, unknown>).futureField).toBeUndefined();
  });

  it("leaves the declaration it was given unchanged (undo keeps it)", () => {
    const before = JSON.stringify(start);
    moveAction(start, { stage: 0, action: 0 }, { kind: "between", stage: 1, beforeGroup: 1 });
    expect(JSON.stringify(start)).toBe(before);
  });
});

describe("palette and stages", () => {
  it("adds an action with a name not yet taken in the stage, at the drop target", () => {
    const p = pipeline([action("Build"), action("Test", 2)]);
    const next = addAction(p, action("Build"), { kind: "between", stage: 0, beforeGroup: 1 });
    expect(drawn(next, 0)).toEqual([["Build"], ["Build-2"], ["Test"]]);
  });

  it("removing the only action of a run order leaves the others' run orders as they were", () => {
    const p = pipeline([action("a"), action("b", 2), action("c", 3)]);
    const next = removeAction(p, { stage: 0, action: 1 });
    expect(next.stages[0]!.actions.map((a) => [a.name, a.runOrder ?? 1])).toEqual([
      ["a", 1],
      ["c", 3],
    ]);
  });

  it("reorders stages", () => {
    const p = pipeline([action("a")], [action("b")], [action("c")]);
    expect(moveStage(p, 0, 2).stages.map((s) => s.actions[0]!.name)).toEqual(["b", "c", "a"]);
  });

  it("names are made unique", () => {
    expect(uniqueName(["Build", "Build-2"], "Build")).toBe("Build-3");
    expect(uniqueName([], "Build")).toBe("Build");
  });
});

describe("what the designer shows next to an action", () => {
  it("maps a diagnostic's JSON path to its stage and action", () => {
    expect(addressOf("/stages/2/actions/0/inputArtifacts/0")).toEqual({ stage: 2, action: 0 });
    expect(addressOf("/stages/1/name")).toEqual({ stage: 1, action: undefined });
    expect(addressOf("/variables/0")).toEqual({});
  });

  it("offers as inputs only artifacts made before the action runs", () => {
    const out = (name: string) => ({ outputArtifacts: [{ name }] }) as Partial<Action>;
    const p = pipeline(
      [action("src", 1, out("Source"))],
      [action("build", 1, out("Built")), action("same", 1, out("Parallel")), action("test", 2)],
    );
    expect(artifactsAvailableTo(p, { stage: 1, action: 2 })).toEqual(["Source", "Built", "Parallel"]);
    expect(artifactsAvailableTo(p, { stage: 1, action: 0 })).toEqual(["Source"]);
  });
});

describe("moving an action with the keyboard", () => {
  it("steps to the next stage, and to an earlier run order within a stage", () => {
    const p = pipeline([action("a"), action("b", 2)], [action("x")]);
    const right = nudgeAction(p, { stage: 0, action: 1 }, "right");
    expect(drawn(right.pipeline, 1)).toEqual([["x"], ["b"]]);
    expect(right.at).toEqual({ stage: 1, action: 1 });
    const up = nudgeAction(p, { stage: 0, action: 1 }, "up");
    expect(drawn(up.pipeline, 0)).toEqual([["a", "b"]]);
  });

  it("into the neighbouring run order; at the edge a shared one splits, a lone one stays", () => {
    const p3 = pipeline([action("a"), action("b"), action("c", 2)]);
    expect(drawn(nudgeAction(p3, { stage: 0, action: 0 }, "down").pipeline, 0)).toEqual([["b"], ["a", "c"]]);
    const p = pipeline([action("a"), action("b")]);
    expect(drawn(nudgeAction(p, { stage: 0, action: 0 }, "down").pipeline, 0)).toEqual([["b"], ["a"]]);
    expect(nudgeAction(p, { stage: 0, action: 0 }, "left").pipeline).toBe(p);
    const alone = pipeline([action("a"), action("b", 2)]);
    expect(nudgeAction(alone, { stage: 0, action: 1 }, "down").pipeline).toBe(alone);
  });
});

describe("artifact flow", () => {
  const io = (inputs: string[], outputs: string[]) =>
    ({ inputArtifacts: inputs.map((name) => ({ name })), outputArtifacts: outputs.map((name) => ({ name })) }) as Partial<Action>;
  const p = pipeline(
    [action("src", 1, io([], ["Source"])), action("other", 1, io([], ["Docs"]))],
    [action("build", 1, io(["Source"], ["Built"])), action("lint", 1, io(["Source"], []))],
    [action("deploy", 1, io(["Built", "Docs"], []))],
  );

  it("marks the makers of the selected action's inputs and the takers of its outputs", () => {
    expect(artifactFlow(p, { stage: 1, action: 0 })).toEqual(
      new Map([
        ["0/0", "produces"],
        ["2/0", "consumes"],
      ]),
    );
    expect(artifactFlow(p, { stage: 0, action: 0 })).toEqual(
      new Map([
        ["1/0", "consumes"],
        ["1/1", "consumes"],
      ]),
    );
    expect(artifactFlow(p, { stage: 9, action: 0 }).size).toBe(0);
  });

  it("says where an artifact comes from and goes", () => {
    expect(artifactUse(p, "Source")).toEqual({ producer: "S0/src", consumers: ["S1/build", "S1/lint"] });
    expect(artifactUse(p, "Nowhere")).toEqual({ producer: undefined, consumers: [] });
  });
});

