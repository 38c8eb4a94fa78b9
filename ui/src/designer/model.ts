// The designer's edits as pure functions from one declaration to the next. Every function returns
// a new object and leaves its input alone (undo keeps the old ones), and touches only what the
// edit is about, so fields the designer does not know (AWS adds some every year) survive.
import type { Action, PipelineDeclaration, Stage } from "../backend";

/** Where an action sits: stage index and index in the stage's `actions` array. */
export interface ActionAddress {
  stage: number;
  action: number;
}

/** One run order of a stage: its actions run in parallel, after every lower run order. */
export interface RunOrderGroup {
  runOrder: number;
  /** Indexes into the stage's `actions`, in array order. */
  actions: number[];
}

/**
 * Where a dragged action lands:
 * - `group`: into an existing run order (in parallel with its actions), at `position` within it;
 * - `between`: a new run order of its own, before group `beforeGroup` (the group count places it
 *   after the last).
 */
export type DropTarget =
  | { kind: "group"; stage: number; group: number; position: number }
  | { kind: "between"; stage: number; beforeGroup: number };

export function runOrderOf(action: Action): number {
  return action.runOrder ?? 1;
}

export function runOrderGroups(stage: Stage): RunOrderGroup[] {
  const groups = new Map<number, number[]>();
  stage.actions.forEach((action, index) => {
    const order = runOrderOf(action);
    const members = groups.get(order);
    if (members) members.push(index);
    else groups.set(order, [index]);
  });
  return [...groups.entries()]
    .sort(([a], [b]) => a - b)
    .map(([runOrder, actions]) => ({ runOrder, actions }));
}

/** The highest run order CodePipeline accepts. */
const MAX_RUN_ORDER = 999;

/**
 * Rebuilds a stage from groups of actions: group i gets run order i + 1, and `actions` is written
 * group by group. Only for the rare drop that finds no free run order below 999 (see `placeIn`).
 */
function withGroups(stage: Stage, groups: Action[][]): Stage {
  const actions: Action[] = [];
  groups
    .filter((group) => group.length > 0)
    .forEach((group, index) => {
      const runOrder = index + 1;
      for (const action of group) {
        actions.push(runOrderOf(action) === runOrder ? action : { ...action, runOrder });
      }
    });
  return { ...stage, actions };
}

function replaceStage(pipeline: PipelineDeclaration, index: number, stage: Stage) {
  return { ...pipeline, stages: pipeline.stages.map((s, i) => (i === index ? stage : s)) };
}

/**
 * `stage` with `action` placed at a drop target, changing only what the placement needs: the
 * action's own `runOrder` (and its place in `actions` when it joins a run order at a given
 * position), and other actions' run orders only when a new run order has no free number between
 * its neighbours, so that a move shows as one change in *Changes* and in `pipewright plan`.
 * `leaving` is the action's index in `stage` when it moves within the stage; group indexes in `to`
 * are those of `stage` as it is (a group the action leaves still counts).
 */
function placeIn(stage: Stage, action: Action, to: DropTarget, leaving?: number): Stage {
  const groups = runOrderGroups(stage);
  const staying = groups.map((group) => group.actions.filter((i) => i !== leaving));
  const shifts = new Map<number, number>();
  let runOrder: number;
  /** The index in `stage.actions` the action goes before (the length: at the end). */
  let before: number;
  const target = to.kind === "group" ? groups[to.group] : undefined;
  if (to.kind === "group" && target) {
    runOrder = target.runOrder;
    const own = leaving === undefined ? -1 : target.actions.indexOf(leaving);
    const position = own >= 0 && own < to.position ? to.position - 1 : to.position;
    const members = staying[to.group]!;
    // Dropped on a run order (its end) from another one of this stage: it stays where it is in
    // `actions`, so the file changes by its runOrder alone. Parallel actions have no order to keep.
    const joins = leaving !== undefined && own < 0 && to.position >= members.length;
    if (leaving !== undefined && (joins || members.filter((i) => i < leaving).length === position)) before = leaving;
    else before = members[position] ?? (members.length > 0 ? members[members.length - 1]! + 1 : stage.actions.length);
  } else {
    const at = to.kind === "between" ? to.beforeGroup : groups.length;
    const orders = (from: number, until: number) =>
      groups.slice(from, until).filter((_, k) => staying[from + k]!.length > 0).map((g) => g.runOrder);
    const previous = Math.max(0, ...orders(0, at));
    const next = Math.min(MAX_RUN_ORDER + 1, ...orders(at, groups.length));
    const current = leaving === undefined ? undefined : runOrderOf(action);
    if (current !== undefined && previous < current && current < next) runOrder = current;
    else if (next - previous >= 2) runOrder = previous + 1;
    else {
      // No free number: the run orders from here up move one along, as far as they collide.
      runOrder = next;
      let taken = next;
      for (const order of orders(at, groups.length)) {
        if (order > taken) break;
        taken += 1;
        shifts.set(order, taken);
      }
      if (taken > MAX_RUN_ORDER) return renumbered(stage, action, to, leaving);
    }
    const lower = stage.actions.map((a, i) => (i !== leaving && runOrderOf(a) < runOrder ? i : -1));
    before = leaving ?? Math.max(...lower, -1) + 1;
  }
  const placed = runOrderOf(action) === runOrder ? action : { ...action, runOrder };
  const actions: Action[] = [];
  stage.actions.forEach((existing, i) => {
    if (i === before) actions.push(placed);
    if (i === leaving) return;
    const shifted = shifts.get(runOrderOf(existing));
    actions.push(shifted === undefined ? existing : { ...existing, runOrder: shifted });
  });
  if (before >= stage.actions.length) actions.push(placed);
  return { ...stage, actions };
}

/** `placeIn` for a stage whose run orders are full up to 999: every run order is renumbered 1..n. */
function renumbered(stage: Stage, action: Action, to: DropTarget, leaving?: number): Stage {
  const groups = runOrderGroups(stage).map((group) =>
    group.actions.filter((i) => i !== leaving).map((i) => stage.actions[i]!),
  );
  const group = to.kind === "group" ? groups[to.group] : undefined;
  if (group) group.splice(Math.min(to.kind === "group" ? to.position : 0, group.length), 0, action);
  else groups.splice(to.kind === "between" ? to.beforeGroup : groups.length, 0, [action]);
  return withGroups(stage, groups);
}

/** Moves an action to a drop target, in the same stage or another one. */
export function moveAction(
  pipeline: PipelineDeclaration,
  from: ActionAddress,
  to: DropTarget,
): PipelineDeclaration {
  const source = pipeline.stages[from.stage];
  const moving = source?.actions[from.action];
  const destination = pipeline.stages[to.stage];
  if (!source || !moving || !destination) return pipeline;
  const same = from.stage === to.stage;
  // In another stage it must not share a name with an action there.
  const arriving = same ? moving : { ...moving, name: uniqueName(destination.actions.map((a) => a.name), moving.name) };
  const arranged = placeIn(destination, arriving, to, same ? from.action : undefined);
  // Dropped where it was: the same declaration, so no undo step and nothing to save.
  if (same && arranged.actions.every((a, i) => a === destination.actions[i])) return pipeline;
  let next = replaceStage(pipeline, to.stage, arranged);
  if (!same) {
    next = replaceStage(next, from.stage, { ...source, actions: source.actions.filter((_, i) => i !== from.action) });
  }
  return next;
}

/** Moves a stage to `to` (an index in the stage list after the move). */
export function moveStage(pipeline: PipelineDeclaration, from: number, to: number) {
  if (from === to || !pipeline.stages[from] || to < 0 || to >= pipeline.stages.length) {
    return pipeline;
  }
  const stages = [...pipeline.stages];
  const [stage] = stages.splice(from, 1);
  stages.splice(to, 0, stage!);
  return { ...pipeline, stages };
}

/** `base`, or `base-2`, `base-3`... whichever is not taken. */
export function uniqueName(taken: Iterable<string>, base: string): string {
  const names = new Set(taken);
  if (!names.has(base)) return base;
  for (let n = 2; ; n++) {
    const candidate = `${base}-${n}`;
    if (!names.has(candidate)) return candidate;
  }
}

/** Adds an action (from the palette) at a drop target; its name is made unique in the stage. */
export function addAction(pipeline: PipelineDeclaration, action: Action, to: DropTarget) {
  const stage = pipeline.stages[to.stage];
  if (!stage) return pipeline;
  const named = { ...action, name: uniqueName(stage.actions.map((a) => a.name), action.name) };
  return replaceStage(pipeline, to.stage, placeIn(stage, named, to));
}

export function removeAction(pipeline: PipelineDeclaration, at: ActionAddress) {
  const stage = pipeline.stages[at.stage];
  if (!stage?.actions[at.action]) return pipeline;
  // The others keep their run orders: a gap left behind is valid and changes nothing else.
  return replaceStage(pipeline, at.stage, { ...stage, actions: stage.actions.filter((_, i) => i !== at.action) });
}

export function updateAction(pipeline: PipelineDeclaration, at: ActionAddress, action: Action) {
  const stage = pipeline.stages[at.stage];
  if (!stage?.actions[at.action]) return pipeline;
  return replaceStage(pipeline, at.stage, {
    ...stage,
    actions: stage.actions.map((a, i) => (i === at.action ? action : a)),
  });
}

export function addStage(pipeline: PipelineDeclaration, at: number, name = "Stage") {
  const stages = [...pipeline.stages];
  const stage: Stage = { name: uniqueName(stages.map((s) => s.name), name), actions: [] };
  stages.splice(Math.max(0, Math.min(at, stages.length)), 0, stage);
  return { ...pipeline, stages };
}

export function removeStage(pipeline: PipelineDeclaration, at: number) {
  return { ...pipeline, stages: pipeline.stages.filter((_, i) => i !== at) };
}

export function renameStage(pipeline: PipelineDeclaration, at: number, name: string) {
  const stage = pipeline.stages[at];
  return stage ? replaceStage(pipeline, at, { ...stage, name }) : pipeline;
}

export function updateStage(pipeline: PipelineDeclaration, at: number, stage: Stage) {
  return pipeline.stages[at] ? replaceStage(pipeline, at, stage) : pipeline;
}

/** The stage and action a diagnostic's JSON pointer (`/stages/2/actions/0/...`) is about. */
export function addressOf(path: string): { stage?: number; action?: number } {
  const match = /^\/stages\/(\d+)(?:\/actions\/(\d+))?/.exec(path);
  if (!match) return {};
  return {
    stage: Number(match[1]),
    action: match[2] === undefined ? undefined : Number(match[2]),
  };
}

/** Artifact names produced by actions that run before `at` (earlier stages, lower run orders). */
export function artifactsAvailableTo(pipeline: PipelineDeclaration, at: ActionAddress): string[] {
  const names: string[] = [];
  pipeline.stages.forEach((stage, s) => {
    if (s > at.stage) return;
    const current = stage.actions[at.action];
    stage.actions.forEach((action, a) => {
      const earlier =
        s < at.stage ||
        (current !== undefined && a !== at.action && runOrderOf(action) < runOrderOf(current));
      if (!earlier) return;
      for (const output of action.outputArtifacts ?? []) names.push(output.name);
    });
  });
  return names;
}

/**
 * Moves an action one step without a pointer (the keyboard alternative to dragging): to the
 * previous or next stage (as a new last run order there), or into the run order before or after
 * its own. At the first or last run order, an action that shares it with others gets a new run
 * order of its own before or after; an action alone there stays.
 * Returns the declaration and where the action is now, so the selection can follow it.
 */
export function nudgeAction(
  pipeline: PipelineDeclaration,
  at: ActionAddress,
  direction: "left" | "right" | "up" | "down",
): { pipeline: PipelineDeclaration; at: ActionAddress } {
  const stage = pipeline.stages[at.stage];
  const action = stage?.actions[at.action];
  if (!stage || !action) return { pipeline, at };
  let to: DropTarget;
  if (direction === "left" || direction === "right") {
    const target = at.stage + (direction === "left" ? -1 : 1);
    const other = pipeline.stages[target];
    if (!other) return { pipeline, at };
    to = { kind: "between", stage: target, beforeGroup: runOrderGroups(other).length };
  } else {
    const groups = runOrderGroups(stage);
    const g = groups.findIndex((group) => group.actions.includes(at.action));
    const alone = groups[g]!.actions.length === 1;
    const step = direction === "up" ? -1 : 1;
    const neighbour = groups[g + step];
    if (neighbour) to = { kind: "group", stage: at.stage, group: g + step, position: neighbour.actions.length };
    else if (!alone) to = { kind: "between", stage: at.stage, beforeGroup: direction === "up" ? 0 : groups.length };
    else return { pipeline, at };
  }
  const next = moveAction(pipeline, at, to);
  // In another stage it may have been renamed to stay unique, as moveAction does.
  const name =
    to.stage === at.stage
      ? action.name
      : uniqueName(pipeline.stages[to.stage]!.actions.map((a) => a.name), action.name);
  const index = next.stages[to.stage]!.actions.findIndex((a) => a.name === name);
  return { pipeline: next, at: { stage: to.stage, action: index } };
}

/** How an action is linked to the selected one by artifacts. */
export type Flow = "produces" | "consumes";

/**
 * The artifact flow around an action: the actions that make its input artifacts (`produces`) and
 * those that take one of its output artifacts (`consumes`), keyed `stage/action` (indexes).
 */
export function artifactFlow(pipeline: PipelineDeclaration, at: ActionAddress): Map<string, Flow> {
  const flow = new Map<string, Flow>();
  const selected = pipeline.stages[at.stage]?.actions[at.action];
  if (!selected) return flow;
  const inputs = new Set((selected.inputArtifacts ?? []).map((a) => a.name));
  const outputs = new Set((selected.outputArtifacts ?? []).map((a) => a.name));
  pipeline.stages.forEach((stage, s) =>
    stage.actions.forEach((action, a) => {
      if (s === at.stage && a === at.action) return;
      if ((action.outputArtifacts ?? []).some((o) => inputs.has(o.name))) flow.set(`${s}/${a}`, "produces");
      else if ((action.inputArtifacts ?? []).some((i) => outputs.has(i.name))) flow.set(`${s}/${a}`, "consumes");
    }),
  );
  return flow;
}

/** Where an artifact comes from and where it goes, by action name (`Stage/Action`). */
export function artifactUse(pipeline: PipelineDeclaration, artifact: string): { producer?: string; consumers: string[] } {
  let producer: string | undefined;
  const consumers: string[] = [];
  for (const stage of pipeline.stages) {
    for (const action of stage.actions) {
      const name = `${stage.name}/${action.name}`;
      if (!producer && (action.outputArtifacts ?? []).some((o) => o.name === artifact)) producer = name;
      if ((action.inputArtifacts ?? []).some((i) => i.name === artifact)) consumers.push(name);
    }
  }
  return { producer, consumers };
}

