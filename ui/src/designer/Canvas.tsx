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
  useDndContext,
  useSensor,
  useSensors,
  type Announcements,
  type CollisionDetection,
  type DragEndEvent,
  type DragStartEvent,
} from "@dnd-kit/core";
import { memo, useLayoutEffect, useMemo, useRef, useState, type ReactNode, type RefObject } from "react";

import type { Action, Diagnostic, PipelineDeclaration, Stage } from "../backend";
import { addressOf, artifactFlow, runOrderGroups, type ActionAddress, type DropTarget, type Flow } from "./model";
import { CATEGORIES, newAction, PROVIDERS } from "./providers";
import { ActionChip, ArmedChipContext, useArmedChip, type DraggedAction } from "./ActionChip";
import { Minimap, useViewport, ZoomBar } from "./Viewport";

/** What is being dragged. */
type Dragged =
  | DraggedAction
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
  /** The panel beside the canvas (the forms, the text, the changes); it can be folded away. */
  inspector?: ReactNode;
}

/** The pointer decides where a pointer drag lands; a keyboard drag goes to the nearest zone. */
const collision: CollisionDetection = (args) => {
  // By the id, not the data: a draggable whose stage scrolled out of the drawn ones has no data.
  const wanted = String(args.active.id).startsWith("stage:") ? "stage-target" : "action-target";
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
  const sensors = useSensors(
    // A few pixels of movement before a drag starts, so a click still selects.
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(KeyboardSensor),
  );
  const armed = useArmedChip();
  // What is dragged, kept from the drag's start: the draggable that said it may be gone before
  // the drop (its stage scrolled out of the drawn ones), and dnd-kit then forgets its data. A ref,
  // not state, so the start of a drag redraws nothing.
  const draggedRef = useRef<Dragged>(undefined);
  const onDragStart = (event: DragStartEvent) => {
    draggedRef.current = event.active.data.current as Dragged | undefined;
    armed.hold(true);
  };
  const onDragCancel = () => {
    draggedRef.current = undefined;
    armed.hold(false);
  };
  const onDragEnd = (event: DragEndEvent) => {
    const dragged = draggedRef.current;
    onDragCancel();
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

  const problems = useMemo(() => countProblems(props.diagnostics), [props.diagnostics]);
  const flow = useMemo(
    () => (props.selected ? artifactFlow(props.pipeline, props.selected) : NO_FLOW),
    [props.pipeline, props.selected],
  );
  const view = useViewport();
  const [first, last] = useVisibleStages(props.pipeline.stages.length, view.viewport, view.zoom);
  const heights = useMemo(
    () => props.pipeline.stages.map((stage) => runOrderGroups(stage).length + 1),
    [props.pipeline.stages],
  );
  const [paletteOpen, setPaletteOpen] = useState(true);
  const [inspectorOpen, setInspectorOpen] = useState(true);
  return (
    <DndContext
      sensors={sensors}
      collisionDetection={collision}
      onDragStart={onDragStart}
      onDragEnd={onDragEnd}
      onDragCancel={onDragCancel}
      accessibility={{ announcements }}
    >
      <ArmedChipContext.Provider value={armed}>
        {/* A drag changes nothing here: restyling the canvas when one starts re-rendered and
            repainted every stage in view (the longest frame of a drag in a large pipeline). Only the
            dragged chip, the ghost, the zone under the pointer and its stage's gaps change. */}
        <div className="designer-body">
          <Fold open={paletteOpen} onToggle={setPaletteOpen} side="left" what="palette">
            <Palette />
          </Fold>
          <div className="canvas-frame">
            <div className="canvas-viewport" ref={view.viewport}>
              <div className="canvas-sizer" style={{ width: view.size.width * view.zoom, height: view.size.height * view.zoom }}>
                <div
                  className="canvas"
                  aria-label="Stages"
                  data-zoom={view.zoom}
                  ref={view.drawing}
                  style={view.zoom === 1 ? undefined : { transform: `scale(${view.zoom})` }}
                >
                  {props.pipeline.stages.map((stage, s) =>
                    s < first || s > last ? (
                      <div key={s} className="stage-placeholder" aria-hidden />
                    ) : (
                      <StageColumn
                        key={s}
                        stage={stage}
                        index={s}
                        problems={problems.get(`${s}`) ?? 0}
                        actionProblems={problems}
                        selected={props.selected?.stage === s ? props.selected.action : undefined}
                        flow={flow}
                        stageSelected={props.selectedStage === s}
                        onSelect={props.onSelect}
                        onSelectStage={props.onSelectStage}
                      />
                    ),
                  )}
                  <button className="add-stage" onClick={() => props.onAddStage(props.pipeline.stages.length)}>
                    + Stage
                  </button>
                </div>
              </div>
            </div>
            <ZoomBar view={view} />
            <Minimap view={view} heights={heights} />
          </div>
          {props.inspector && (
            <Fold open={inspectorOpen} onToggle={setInspectorOpen} side="right" what="inspector">
              {props.inspector}
            </Fold>
          )}
        </div>
        <DragOverlay dropAnimation={null}>
          <Ghost dragged={draggedRef} />
        </DragOverlay>
      </ArmedChipContext.Provider>
    </DndContext>
  );
}

/** What follows the pointer during a drag: the dragged thing's name. */
function Ghost(props: { dragged: RefObject<Dragged | undefined> }) {
  // Drawn again on every change of the drag (the context), after the start has set the ref.
  const dragging = useDndContext().active !== null;
  const dragged = props.dragged.current;
  return dragging && dragged ? <div className="drag-ghost">{dragged.name}</div> : null;
}

/** A side panel that folds to a thin strip with one button, giving the canvas its width. */
function Fold(props: {
  open: boolean;
  onToggle: (open: boolean) => void;
  side: "left" | "right";
  what: string;
  children: ReactNode;
}) {
  const arrow = props.open === (props.side === "left") ? "‹" : "›";
  return (
    <div className={`fold fold-${props.side} ${props.what} ${props.open ? "" : "folded"}`} data-fold={props.what}>
      <button
        type="button"
        className="fold-toggle"
        aria-expanded={props.open}
        title={props.open ? `Fold the ${props.what} away` : `Show the ${props.what}`}
        onClick={() => props.onToggle(!props.open)}
      >
        {arrow}
      </button>
      {props.open && <div className="fold-body">{props.children}</div>}
    </div>
  );
}

/** A stage column's width and the gap after it, in pixels (styles.css: .canvas .stage). */
const COLUMN_PX = 272;
/** Pipelines with more stages than this draw only the stages in view (plus one each side). */
const DRAW_ALL_UP_TO = 12;

/**
 * Which stages to draw: all of a small pipeline; of a large one (50 stages of 50 actions) only
 * those in view at the current zoom, so the page holds hundreds of elements rather than
 * thousands, and a drag does not re-render and re-measure what nobody sees. The others are empty
 * columns of the same width.
 */
function useVisibleStages(count: number, viewport: RefObject<HTMLDivElement | null>, zoom: number) {
  // Until the view is measured (below, before the first paint): the stages a window this wide
  // can show at 100%, where each pipeline opens, so that first drawing is not mostly thrown away.
  const [range, setRange] = useState<[number, number]>(() => [0, Math.ceil(window.innerWidth / COLUMN_PX)]);
  useLayoutEffect(() => {
    const element = viewport.current;
    if (!element || count <= DRAW_ALL_UP_TO) return;
    const column = COLUMN_PX * zoom;
    const update = () => {
      // One stage more on each side than the view shows, so a scroll does not show a gap.
      const first = Math.max(0, Math.floor(element.scrollLeft / column) - 1);
      const last = Math.floor((element.scrollLeft + element.clientWidth) / column) + 1;
      setRange((current) => (current[0] === first && current[1] === last ? current : [first, last]));
    };
    update();
    element.addEventListener("scroll", update, { passive: true });
    // The view changes size when a panel folds or the window does, or when it is shown again.
    const resized = new ResizeObserver(update);
    resized.observe(element);
    return () => {
      element.removeEventListener("scroll", update);
      resized.disconnect();
    };
  }, [count, viewport, zoom]);
  return count <= DRAW_ALL_UP_TO ? ([0, count] as [number, number]) : range;
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
  /** How each action is linked by artifacts to the selected one. */
  flow: Map<string, Flow>;
  stageSelected: boolean;
  onSelect: (at: ActionAddress) => void;
  onSelectStage: (stage: number) => void;
}

const NO_FLOW = new Map<string, Flow>();

/** Drop zones keep their size during a drag (nothing restyles them), so dnd-kit need not watch
 *  each one for resizing: that watching re-measured and re-rendered every zone after each start. */
const STILL = { disabled: true };


/**
 * A stage as drawn. It takes part in no drag itself: its handle, its drop zone and its run
 * orders' zones are components of their own, so a drag re-renders those (dnd-kit re-renders
 * every draggable and droppable as a drag starts and moves), not the stage and its actions.
 */
const StageColumn = memo(function StageColumn(props: StageColumnProps) {
  const { stage, index: s } = props;
  const groups = runOrderGroups(stage);
  const keys = useMemo(() => chipKeys(stage.actions), [stage.actions]);
  return (
    <StageDropZone stage={s} name={stage.name} selected={props.stageSelected}>
      <div className="stage-head">
        <StageHandle stage={s} name={stage.name} />
        <button className="link strong" onClick={() => props.onSelectStage(s)}>
          {stage.name}
        </button>
        {props.problems > 0 && <span className="problem-badge">{props.problems}</span>}
      </div>
      <Between stage={s} beforeGroup={0} label={`before run order ${groups[0]?.runOrder ?? 1} of ${stage.name}`} />
      {groups.map((group, g) => (
        <div key={group.runOrder}>
          <Group stage={s} group={g} runOrder={group.runOrder} size={group.actions.length} stageName={stage.name}>
            {group.actions.map((a) => (
              <ActionChip
                key={keys[a]}
                identity={`${stage.name}/${keys[a]}`}
                action={stage.actions[a]!}
                stage={s}
                index={a}
                stageName={stage.name}
                problems={props.actionProblems.get(`${s}/${a}`) ?? 0}
                selected={props.selected === a}
                flow={props.flow.get(`${s}/${a}`)}
                onSelect={props.onSelect}
              />
            ))}
          </Group>
          <Between
            stage={s}
            beforeGroup={g + 1}
            label={
              g + 1 === groups.length
                ? `after the last run order of ${stage.name}`
                : `between run orders ${group.runOrder} and ${groups[g + 1]!.runOrder} of ${stage.name}`
            }
          />
        </div>
      ))}
      {groups.length === 0 && <p className="muted">Drop actions here</p>}
    </StageDropZone>
  );
});

/**
 * Each action's React key: its name, which AWS keeps unique in a stage, so a move or a removal
 * redraws only the chips that changed, not every chip after it. A repeated name (a file that
 * `validate` flags) gets its position added.
 */
function chipKeys(actions: Action[]) {
  const seen = new Set<string>();
  return actions.map((action, a) => {
    const key = seen.has(action.name) ? `${action.name}#${a}` : action.name;
    seen.add(action.name);
    return key;
  });
}

/** Where a dragged stage lands: the place of this one. */
function StageDropZone(props: { stage: number; name: string; selected: boolean; children: ReactNode }) {
  const drop = useDroppable({
    id: `stage-target:${props.stage}`,
    resizeObserverConfig: STILL,
    data: { type: "stage-target", stage: props.stage, name: `at the place of stage ${props.name}` } satisfies Landing,
  });
  return (
    <section
      ref={drop.setNodeRef}
      className={`stage card ${props.selected ? "selected" : ""} ${drop.isOver ? "over" : ""}`}
      data-stage={props.name}
      aria-label={`Stage ${props.name}`}
    >
      {props.children}
    </section>
  );
}

function StageHandle(props: { stage: number; name: string }) {
  const handle = useDraggable({
    id: `stage:${props.stage}`,
    data: { type: "stage", stage: props.stage, name: `stage ${props.name}` } satisfies Dragged,
  });
  return (
    <button
      ref={handle.setNodeRef}
      className="drag-handle"
      aria-label={`Move stage ${props.name}`}
      {...handle.attributes}
      {...handle.listeners}
    >
      ⠿
    </button>
  );
}

/**
 * The stage an action is being dragged over, whose gaps between run orders (a drop there makes a
 * new run order) are then outlined; the run orders themselves show by their actions. Only that
 * stage's gaps: outlining every zone on the page when a drag started, or every zone of the stage,
 * repainted large areas and made the longest frames of a drag in a large pipeline.
 */
function overStage(over: { data: { current?: unknown } } | null) {
  const landing = over?.data.current as Landing | undefined;
  return landing?.type === "action-target" ? landing.target.stage : undefined;
}

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
    resizeObserverConfig: STILL,
    data: {
      type: "action-target",
      target: { kind: "group", stage: props.stage, group: props.group, position: props.size },
      name: `into run order ${props.runOrder} of ${props.stageName}, in parallel`,
    } satisfies Landing,
  });
  return (
    <div
      ref={setNodeRef}
      className={`group ${isOver ? "over" : ""}`}
      data-run-order={props.runOrder}
      aria-label={`Run order ${props.runOrder}`}
    >
      <span className="run-order">{props.runOrder}</span>
      <div className="group-actions">{props.children}</div>
    </div>
  );
}

function Between(props: { stage: number; beforeGroup: number; label: string }) {
  const { setNodeRef, isOver, over } = useDroppable({
    id: `between:${props.stage}:${props.beforeGroup}`,
    resizeObserverConfig: STILL,
    data: {
      type: "action-target",
      target: { kind: "between", stage: props.stage, beforeGroup: props.beforeGroup },
      name: `as a new run order ${props.label}`,
    } satisfies Landing,
  });
  return (
    <div
      ref={setNodeRef}
      className={`between ${isOver ? "over" : overStage(over) === props.stage ? "nearby" : ""}`}
      data-between={`${props.stage}:${props.beforeGroup}`}
    />
  );
}
