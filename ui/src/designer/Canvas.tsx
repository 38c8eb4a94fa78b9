// The pipeline drawn as stages left to right; in each stage its run-order groups top to bottom,
// the actions of a group side by side. Everything moves by drag and drop (pointer or keyboard:
// focus a handle, Space to pick up, arrows to move, Space to drop), through dnd-kit.
import {
  closestCenter,
  DndContext,
  DragOverlay,
  KeyboardSensor,
  PointerSensor,
  pointerWithin,
  useDraggable,
  useDroppable,
  useSensor,
  useSensors,
  type Announcements,
  type CollisionDetection,
  type DragEndEvent,
  type DragStartEvent,
} from "@dnd-kit/core";
import { memo, useState } from "react";

import type { Action, Diagnostic, PipelineDeclaration, Stage } from "../backend";
import { addressOf, runOrderGroups, type ActionAddress, type DropTarget } from "./model";
import { CATEGORIES, newAction, PROVIDERS } from "./providers";

/** What is being dragged. */
type Dragged =
  | { type: "action"; at: ActionAddress; name: string }
  | { type: "palette"; provider: number; name: string }
  | { type: "stage"; stage: number; name: string };

/** What it can land on. */
type Landing = { type: "action-target"; target: DropTarget; name: string } | { type: "stage-target"; stage: number; name: string };

export interface CanvasProps {
  pipeline: PipelineDeclaration;
  diagnostics: Diagnostic[];
  selected?: ActionAddress;
  selectedStage?: number;
  onSelect: (at: ActionAddress) => void;
  onSelectStage: (stage: number) => void;
  onMoveAction: (from: ActionAddress, to: DropTarget) => void;
  onAddAction: (action: Action, to: DropTarget) => void;
  onMoveStage: (from: number, to: number) => void;
  onAddStage: (at: number) => void;
}

/** The pointer decides where a pointer drag lands; a keyboard drag goes to the nearest zone. */
const collision: CollisionDetection = (args) => {
  const dragged = args.active.data.current as Dragged | undefined;
  const wanted = dragged?.type === "stage" ? "stage-target" : "action-target";
  const droppableContainers = args.droppableContainers.filter(
    (c) => (c.data.current as Landing | undefined)?.type === wanted,
  );
  const within = pointerWithin({ ...args, droppableContainers });
  return within.length > 0 ? within : closestCenter({ ...args, droppableContainers });
};

function describe(landing: Landing | undefined) {
  return landing ? landing.name : "nowhere";
}

const announcements: Announcements = {
  onDragStart: ({ active }) => `Picked up ${(active.data.current as Dragged).name}.`,
  onDragOver: ({ active, over }) =>
    `${(active.data.current as Dragged).name} is over ${describe(over?.data.current as Landing)}.`,
  onDragEnd: ({ active, over }) =>
    over
      ? `Dropped ${(active.data.current as Dragged).name} ${describe(over.data.current as Landing)}.`
      : `${(active.data.current as Dragged).name} was not moved.`,
  onDragCancel: ({ active }) => `Moving ${(active.data.current as Dragged).name} was cancelled.`,
};

export function Canvas(props: CanvasProps) {
  const [dragging, setDragging] = useState<Dragged>();
  const sensors = useSensors(
    // A few pixels of movement before a drag starts, so a click still selects.
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(KeyboardSensor),
  );
  const onDragStart = (event: DragStartEvent) => setDragging(event.active.data.current as Dragged);
  const onDragEnd = (event: DragEndEvent) => {
    setDragging(undefined);
    const dragged = event.active.data.current as Dragged | undefined;
    const landing = event.over?.data.current as Landing | undefined;
    if (!dragged || !landing) return;
    if (dragged.type === "stage" && landing.type === "stage-target") {
      props.onMoveStage(dragged.stage, landing.stage);
    } else if (dragged.type === "action" && landing.type === "action-target") {
      props.onMoveAction(dragged.at, landing.target);
    } else if (dragged.type === "palette" && landing.type === "action-target") {
      props.onAddAction(newAction(PROVIDERS[dragged.provider]!), landing.target);
    }
  };

  const problems = countProblems(props.diagnostics);
  return (
    <DndContext
      sensors={sensors}
      collisionDetection={collision}
      onDragStart={onDragStart}
      onDragEnd={onDragEnd}
      onDragCancel={() => setDragging(undefined)}
      accessibility={{ announcements }}
    >
      <div className={`designer-body ${dragging ? "is-dragging" : ""}`}>
        <Palette />
        <div className="canvas" aria-label="Stages">
          {props.pipeline.stages.map((stage, s) => (
            <StageColumn
              key={s}
              stage={stage}
              index={s}
              problems={problems.get(`${s}`) ?? 0}
              actionProblems={problems}
              selected={props.selected?.stage === s ? props.selected.action : undefined}
              stageSelected={props.selectedStage === s}
              onSelect={props.onSelect}
              onSelectStage={props.onSelectStage}
            />
          ))}
          <button className="add-stage" onClick={() => props.onAddStage(props.pipeline.stages.length)}>
            + Stage
          </button>
        </div>
      </div>
      <DragOverlay dropAnimation={null}>
        {dragging && <div className="drag-ghost">{dragging.name}</div>}
      </DragOverlay>
    </DndContext>
  );
}

/** Diagnostics per stage (`"2"`) and per action (`"2/0"`), for the badges. */
function countProblems(diagnostics: Diagnostic[]) {
  const counts = new Map<string, number>();
  const bump = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  for (const d of diagnostics) {
    const at = addressOf(d.path);
    if (at.stage === undefined) continue;
    if (at.action === undefined) bump(`${at.stage}`);
    else bump(`${at.stage}/${at.action}`);
  }
  return counts;
}

function Palette() {
  return (
    <aside className="palette" aria-label="Action palette">
      {CATEGORIES.map((category) => (
        <div key={category} className="palette-category">
          <div className="palette-title">{category}</div>
          {PROVIDERS.map((provider, i) =>
            provider.category === category ? <PaletteItem key={i} index={i} /> : null,
          )}
        </div>
      ))}
    </aside>
  );
}

function PaletteItem({ index }: { index: number }) {
  const provider = PROVIDERS[index]!;
  const name = `new ${provider.title} action`;
  const { attributes, listeners, setNodeRef } = useDraggable({
    id: `palette:${index}`,
    data: { type: "palette", provider: index, name } satisfies Dragged,
  });
  return (
    <div
      ref={setNodeRef}
      className="palette-item"
      data-provider={`${provider.category}/${provider.provider}`}
      title={provider.local ? "Runs locally" : "Needs a mapping in the local settings to run locally"}
      {...attributes}
      {...listeners}
    >
      {provider.title}
      {!provider.local && <span className="muted"> ·AWS</span>}
    </div>
  );
}

interface StageColumnProps {
  stage: Stage;
  index: number;
  problems: number;
  actionProblems: Map<string, number>;
  selected?: number;
  stageSelected: boolean;
  onSelect: (at: ActionAddress) => void;
  onSelectStage: (stage: number) => void;
}

const StageColumn = memo(function StageColumn(props: StageColumnProps) {
  const { stage, index: s } = props;
  const groups = runOrderGroups(stage);
  const handle = useDraggable({
    id: `stage:${s}`,
    data: { type: "stage", stage: s, name: `stage ${stage.name}` } satisfies Dragged,
  });
  const drop = useDroppable({
    id: `stage-target:${s}`,
    data: { type: "stage-target", stage: s, name: `at the place of stage ${stage.name}` } satisfies Landing,
  });
  return (
    <section
      ref={drop.setNodeRef}
      className={`stage card ${props.stageSelected ? "selected" : ""} ${drop.isOver ? "over" : ""}`}
      data-stage={stage.name}
      aria-label={`Stage ${stage.name}`}
    >
      <div className="stage-head">
        <button
          ref={handle.setNodeRef}
          className="drag-handle"
          aria-label={`Move stage ${stage.name}`}
          {...handle.attributes}
          {...handle.listeners}
        >
          ⠿
        </button>
        <button className="link strong" onClick={() => props.onSelectStage(s)}>
          {stage.name}
        </button>
        {props.problems > 0 && <span className="problem-badge">{props.problems}</span>}
      </div>
      <Between stage={s} beforeGroup={0} label={`before run order 1 of ${stage.name}`} />
      {groups.map((group, g) => (
        <div key={group.runOrder}>
          <Group stage={s} group={g} runOrder={group.runOrder} size={group.actions.length} stageName={stage.name}>
            {group.actions.map((a, position) => (
              <ActionChip
                key={`${a}:${stage.actions[a]!.name}`}
                action={stage.actions[a]!}
                at={{ stage: s, action: a }}
                group={g}
                position={position}
                stageName={stage.name}
                problems={props.actionProblems.get(`${s}/${a}`) ?? 0}
                selected={props.selected === a}
                onSelect={props.onSelect}
              />
            ))}
          </Group>
          <Between
            stage={s}
            beforeGroup={g + 1}
            label={g + 1 === groups.length ? `after the last run order of ${stage.name}` : `between run orders ${g + 1} and ${g + 2} of ${stage.name}`}
          />
        </div>
      ))}
      {groups.length === 0 && <p className="muted">Drop actions here</p>}
    </section>
  );
});

function Group(props: {
  stage: number;
  group: number;
  runOrder: number;
  size: number;
  stageName: string;
  children: React.ReactNode;
}) {
  const { setNodeRef, isOver } = useDroppable({
    id: `group:${props.stage}:${props.group}`,
    data: {
      type: "action-target",
      target: { kind: "group", stage: props.stage, group: props.group, position: props.size },
      name: `into run order ${props.group + 1} of ${props.stageName}, in parallel`,
    } satisfies Landing,
  });
  return (
    <div
      ref={setNodeRef}
      className={`group ${isOver ? "over" : ""}`}
      data-run-order={props.group + 1}
      aria-label={`Run order ${props.group + 1}`}
    >
      <span className="run-order">{props.group + 1}</span>
      {props.children}
    </div>
  );
}

function Between(props: { stage: number; beforeGroup: number; label: string }) {
  const { setNodeRef, isOver } = useDroppable({
    id: `between:${props.stage}:${props.beforeGroup}`,
    data: {
      type: "action-target",
      target: { kind: "between", stage: props.stage, beforeGroup: props.beforeGroup },
      name: `as a new run order ${props.label}`,
    } satisfies Landing,
  });
  return (
    <div
      ref={setNodeRef}
      className={`between ${isOver ? "over" : ""}`}
      data-between={`${props.stage}:${props.beforeGroup}`}
    />
  );
}

function ActionChip(props: {
  action: Action;
  at: ActionAddress;
  group: number;
  position: number;
  stageName: string;
  problems: number;
  selected: boolean;
  onSelect: (at: ActionAddress) => void;
}) {
  const { action, at } = props;
  const drag = useDraggable({
    id: `action:${at.stage}:${at.action}`,
    data: { type: "action", at, name: `action ${action.name}` } satisfies Dragged,
  });
  const drop = useDroppable({
    id: `action-target:${at.stage}:${at.action}`,
    data: {
      type: "action-target",
      target: { kind: "group", stage: at.stage, group: props.group, position: props.position },
      name: `before ${action.name} in run order ${props.group + 1} of ${props.stageName}`,
    } satisfies Landing,
  });
  return (
    <div
      ref={(node) => {
        drag.setNodeRef(node);
        drop.setNodeRef(node);
      }}
      className={`action-chip ${props.selected ? "selected" : ""} ${drop.isOver ? "over" : ""} ${drag.isDragging ? "dragging" : ""}`}
      data-action={`${props.stageName}/${action.name}`}
      onClick={() => props.onSelect(at)}
      {...drag.attributes}
      {...drag.listeners}
      aria-label={`${action.name}, ${action.actionTypeId.category} ${action.actionTypeId.provider}`}
    >
      <span className="action-name">{action.name}</span>
      <span className="action-meta">{action.actionTypeId.provider}</span>
      {props.problems > 0 && <span className="problem-badge">{props.problems}</span>}
    </div>
  );
}
