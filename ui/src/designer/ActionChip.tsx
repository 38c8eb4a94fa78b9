// An action on the canvas. Only the chips a drag can start from are dnd-kit draggables ("armed"):
// the one the pointer last moved over with no button down, and the one with the keyboard focus.
// dnd-kit re-renders every draggable whenever a drag starts, is measured or moves over another
// zone; with every chip of a large pipeline registered that was hundreds of components several
// times per drag, the longest frames of a drag. A mouse reaches a chip before pressing on it, so
// arming on a pointer move (not only an entry, so a chip that an edit put under a resting pointer
// is armed by the next nudge) covers a mouse drag; a press with no move at all over the chip since
// the chips under the pointer changed (a wheel scroll, an edit) needs that nudge first.
// A chip is armed by who it is (its stage and name), not by its place, so a chip moved from the
// keyboard stays armed. Arming keeps the chip's element: the draggable is a child that draws
// nothing and hands its listeners to the chip, so a click that arms a chip on its way in still
// lands on the element it started on, and the focus stays.
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

/** Which chips are armed, by the pointer and by the focus; held while a drag is on, so passing
 *  over other chips changes nothing. */
export class ArmedChip {
  private byPointer?: string;
  private byFocus?: string;
  private held = false;
  private readonly listeners = new Set<() => void>();

  arm(key: string, by: "pointer" | "focus") {
    if (this.held) return;
    if (by === "pointer" ? this.byPointer === key : this.byFocus === key) return;
    if (by === "pointer") this.byPointer = key;
    else this.byFocus = key;
    this.changed();
  }

  /** The focus left the chip `key`. */
  blurred(key: string) {
    if (this.held || this.byFocus !== key) return;
    this.byFocus = undefined;
    this.changed();
  }

  hold(held: boolean) {
    this.held = held;
  }

  is(key: string) {
    return this.byPointer === key || this.byFocus === key;
  }

  subscribe = (listener: () => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private changed() {
    for (const listener of this.listeners) listener();
  }
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
  /** Who the chip is, across edits: its stage's name and its key there (the action's name). */
  identity: string;
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
  const key = props.identity;
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
        onPointerMove={(event) => event.buttons === 0 && store.arm(key, "pointer")}
        onFocus={() => store.arm(key, "focus")}
        onBlur={() => store.blurred(key)}
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
    id: `action:${props.identity}`,
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

/** The chip as drawn; an unarmed chip has the same role and focus as an armed one (dnd-kit's
 *  instructions for screen readers come with arming, which taking the focus does). */
function Chip(
  props: ActionChipProps & {
    onPointerMove?: (event: PointerEvent) => void;
    onFocus?: () => void;
    onBlur?: () => void;
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
      onBlur={props.onBlur}
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
