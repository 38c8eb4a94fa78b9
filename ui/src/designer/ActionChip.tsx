// An action on the canvas. Only one chip at a time is a dnd-kit draggable: the one under the
// pointer or with the keyboard focus ("armed"). dnd-kit re-renders every draggable whenever a drag
// starts, is measured or moves over another zone; with every chip of a large pipeline registered
// that was hundreds of components several times per drag, the longest frames of a drag. A chip
// is always under the pointer (or focused) before it can be picked up, so arming on a pointer
// move over it and on `focus` loses nothing (a move, not only an entry, so a chip that a drop
// put under a resting pointer is armed by the next nudge). Arming keeps the chip's element: the
// draggable is a child that draws nothing and hands its listeners to the chip, so a click that
// arms a chip on its way in still lands on the element it started on, and the focus stays.
import { useDraggable } from "@dnd-kit/core";
import {
  createContext,
  memo,
  useContext,
  useLayoutEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type PointerEvent,
  type RefObject,
} from "react";

import type { Action } from "../backend";
import type { ActionAddress, Flow } from "./model";

/** What the canvas's drag and drop carries for an action. */
export interface DraggedAction {
  type: "action";
  at: ActionAddress;
  name: string;
}

/** Which chip is armed; held while a drag is on, so passing over other chips changes nothing. */
export class ArmedChip {
  private key?: string;
  private held = false;
  private readonly listeners = new Set<() => void>();

  arm(key: string) {
    if (this.held || key === this.key) return;
    this.key = key;
    for (const listener of this.listeners) listener();
  }

  hold(held: boolean) {
    this.held = held;
  }

  is(key: string) {
    return this.key === key;
  }

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}

export const ArmedChipContext = createContext(new ArmedChip());

/** The canvas's one store of the armed chip. */
export function useArmedChip() {
  return useState(() => new ArmedChip())[0];
}

const FLOW_TITLES: Record<Flow, string> = {
  produces: "Makes an input artifact of the selected action",
  consumes: "Takes an output artifact of the selected action",
};

export interface ActionChipProps {
  action: Action;
  /** The action's place (numbers, not an address object, so an unchanged chip is not redrawn). */
  stage: number;
  index: number;
  stageName: string;
  problems: number;
  selected: boolean;
  flow?: Flow;
  onSelect: (at: ActionAddress) => void;
}

/** What the armed chip's draggable gives the chip's element. */
interface DragHandles {
  handlers: object;
  dragging: boolean;
}

export const ActionChip = memo(function ActionChip(props: ActionChipProps) {
  const store = useContext(ArmedChipContext);
  const key = `${props.stage}:${props.index}`;
  const armed = useSyncExternalStore(store.subscribe, () => store.is(key));
  const element = useRef<HTMLDivElement | null>(null);
  const [drag, setDrag] = useState<DragHandles>();
  return (
    <>
      <Chip
        {...props}
        nodeRef={element}
        dragging={armed && drag?.dragging}
        handlers={armed ? drag?.handlers : undefined}
        // Not while a button is down: a press that slides onto the next chip before the drag
        // starts must not take the draggable from the pressed one.
        onPointerMove={(event) => event.buttons === 0 && store.arm(key)}
        onFocus={() => store.arm(key)}
      />
      {armed && <ChipDraggable {...props} element={element} onChange={setDrag} />}
    </>
  );
});

/** The armed chip's dnd-kit draggable: draws nothing, binds the chip's element. */
function ChipDraggable(
  props: ActionChipProps & {
    element: RefObject<HTMLDivElement | null>;
    onChange: (handles: DragHandles | undefined) => void;
  },
) {
  const { action, stage, index, element, onChange } = props;
  const { setNodeRef, attributes, listeners, isDragging } = useDraggable({
    id: `action:${stage}:${index}`,
    data: { type: "action", at: { stage, action: index }, name: `action ${action.name}` } satisfies DraggedAction,
  });
  useLayoutEffect(() => {
    setNodeRef(element.current);
    return () => setNodeRef(null);
  }, [setNodeRef, element]);
  useLayoutEffect(() => {
    onChange({ handlers: { ...attributes, ...listeners }, dragging: isDragging });
  }, [onChange, attributes, listeners, isDragging]);
  useLayoutEffect(() => () => onChange(undefined), [onChange]);
  return null;
}

/** The chip as drawn; an unarmed chip has the same role, focus and description as an armed one. */
function Chip(
  props: ActionChipProps & {
    onPointerMove?: (event: PointerEvent) => void;
    onFocus?: () => void;
    nodeRef: RefObject<HTMLDivElement | null>;
    dragging?: boolean;
    handlers?: object;
  },
) {
  const { action, stage, index } = props;
  return (
    <div
      ref={props.nodeRef}
      className={`action-chip ${props.selected ? "selected" : ""} ${props.dragging ? "dragging" : ""} ${props.flow ? `flow-${props.flow}` : ""}`}
      data-action={`${props.stageName}/${action.name}`}
      data-flow={props.flow}
      title={props.flow ? FLOW_TITLES[props.flow] : undefined}
      role="button"
      tabIndex={0}
      aria-roledescription="draggable"
      onPointerMove={props.onPointerMove}
      onFocus={props.onFocus}
      onClick={() => props.onSelect({ stage, action: index })}
      {...props.handlers}
      aria-label={`${action.name}, ${action.actionTypeId.category} ${action.actionTypeId.provider}`}
    >
      <span className="action-name" title={action.name}>
        {action.name}
      </span>
      <span className="action-meta">{action.actionTypeId.provider}</span>
      {props.problems > 0 && <span className="problem-badge">{props.problems}</span>}
    </div>
  );
}
