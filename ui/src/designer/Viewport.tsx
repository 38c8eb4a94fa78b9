// The canvas's view of the pipeline: zoom (buttons, Ctrl+wheel, Ctrl + / - / 0), fit to the
// window (Shift+1), pan (drag the background, or scroll), and an overview of a pipeline larger than
// the view. The drawing is scaled with a CSS transform inside a sizer as large as the scaled
// drawing, so the scroll bars stay true, and dnd-kit, which measures with getBoundingClientRect,
// sees the rectangles the user sees.
import { useCallback, useEffect, useLayoutEffect, useRef, useState, type RefObject } from "react";

export const MIN_ZOOM = 0.1;
export const MAX_ZOOM = 2;
/** One step of the zoom buttons and keys: about 20%. */
const STEP = 1.2;

export interface Size {
  width: number;
  height: number;
}

export function clampZoom(zoom: number): number {
  return Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom));
}

/** The zoom at which a drawing of `content` size fits in `view`, never above 100%. */
export function fitZoom(content: Size, view: Size): number {
  if (content.width <= 0 || content.height <= 0 || view.width <= 0 || view.height <= 0) return 1;
  return clampZoom(Math.min(view.width / content.width, view.height / content.height, 1));
}

/**
 * Where to scroll so that the point under `anchor` (in view pixels) stays under it when the zoom
 * goes from `from` to `to`.
 */
export function anchoredScroll(scroll: number, anchor: number, from: number, to: number): number {
  return Math.max(0, ((scroll + anchor) / from) * to - anchor);
}

/** Elements a press on which is theirs (a drag, a click, typing), not a pan. */
const INTERACTIVE = ".action-chip, .drag-handle, button, input, textarea, select, a, .minimap";

export interface Viewport {
  /** The scrolling element. */
  viewport: RefObject<HTMLDivElement | null>;
  /** The drawing, unscaled. */
  drawing: RefObject<HTMLDivElement | null>;
  zoom: number;
  /** The drawing's unscaled size. */
  size: Size;
  zoomBy: (factor: number) => void;
  setZoom: (zoom: number) => void;
  fit: () => void;
}

export function useViewport(): Viewport {
  const viewport = useRef<HTMLDivElement>(null);
  const drawing = useRef<HTMLDivElement>(null);
  const [zoom, setZoomState] = useState(1);
  const [size, setSize] = useState<Size>({ width: 0, height: 0 });
  const zoomRef = useRef(zoom);
  zoomRef.current = zoom;

  useLayoutEffect(() => {
    const element = drawing.current;
    if (!element) return;
    const measure = () => {
      const next = { width: element.offsetWidth, height: element.offsetHeight };
      setSize((current) => (current.width === next.width && current.height === next.height ? current : next));
    };
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  /** Zooms keeping the point under `anchor` (view pixels; the view's centre by default) in place. */
  const zoomTo = useCallback((wanted: number, anchor?: { x: number; y: number }) => {
    const element = viewport.current;
    const from = zoomRef.current;
    const to = clampZoom(wanted);
    if (!element || to === from) return;
    const at = anchor ?? { x: element.clientWidth / 2, y: element.clientHeight / 2 };
    const left = anchoredScroll(element.scrollLeft, at.x, from, to);
    const top = anchoredScroll(element.scrollTop, at.y, from, to);
    zoomRef.current = to;
    setZoomState(to);
    // After the sizer has its new size, or the browser clamps the scroll to the old one.
    requestAnimationFrame(() => element.scrollTo(left, top));
  }, []);

  const fit = useCallback(() => {
    const element = viewport.current;
    const content = drawing.current;
    if (!element || !content) return;
    const to = fitZoom(
      { width: content.offsetWidth, height: content.offsetHeight },
      { width: element.clientWidth, height: element.clientHeight },
    );
    zoomRef.current = to;
    setZoomState(to);
    requestAnimationFrame(() => element.scrollTo(0, 0));
  }, []);

  // Ctrl+wheel zooms at the pointer; a plain wheel scrolls as everywhere else.
  useEffect(() => {
    const element = viewport.current;
    if (!element) return;
    const onWheel = (event: WheelEvent) => {
      if (!event.ctrlKey) return;
      event.preventDefault();
      const box = element.getBoundingClientRect();
      // In proportion to the wheel's travel, so a touchpad's many small steps zoom smoothly; a
      // mouse wheel's notch (about 100) is one step.
      const factor = Math.min(STEP, Math.max(1 / STEP, Math.exp(-event.deltaY * 0.0018)));
      zoomTo(zoomRef.current * factor, { x: event.clientX - box.left, y: event.clientY - box.top });
    };
    element.addEventListener("wheel", onWheel, { passive: false });
    return () => element.removeEventListener("wheel", onWheel);
  }, [zoomTo]);

  // Dragging the background pans.
  useEffect(() => {
    const element = viewport.current;
    if (!element) return;
    const onDown = (event: PointerEvent) => {
      if (event.button !== 0 || (event.target as Element).closest(INTERACTIVE)) return;
      // A press on the view's own scroll bars is theirs.
      const box = element.getBoundingClientRect();
      if (event.clientX - box.left >= element.clientWidth || event.clientY - box.top >= element.clientHeight) return;
      const start = { x: event.clientX, y: event.clientY, left: element.scrollLeft, top: element.scrollTop };
      element.classList.add("panning");
      const onMove = (move: PointerEvent) => {
        // Released where no pointerup reached us (outside the window): the pan is over.
        if (move.buttons === 0) return onUp();
        element.scrollTo(start.left - (move.clientX - start.x), start.top - (move.clientY - start.y));
      };
      const onUp = () => {
        element.classList.remove("panning");
        window.removeEventListener("pointermove", onMove);
        window.removeEventListener("pointerup", onUp);
        window.removeEventListener("pointercancel", onUp);
      };
      window.addEventListener("pointermove", onMove);
      window.addEventListener("pointerup", onUp);
      window.addEventListener("pointercancel", onUp);
    };
    element.addEventListener("pointerdown", onDown);
    return () => element.removeEventListener("pointerdown", onDown);
  }, []);

  // Keys, while the canvas is on screen and no field has the focus.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const element = viewport.current;
      const target = event.target as Element | null;
      if (!element || element.offsetParent === null || target?.closest("input, textarea, select")) return;
      if ((event.ctrlKey || event.metaKey) && (event.key === "=" || event.key === "+")) zoomTo(zoomRef.current * STEP);
      else if ((event.ctrlKey || event.metaKey) && event.key === "-") zoomTo(zoomRef.current / STEP);
      else if ((event.ctrlKey || event.metaKey) && event.key === "0") zoomTo(1);
      else if (event.shiftKey && event.key === "!") fit();
      else return;
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [zoomTo, fit]);

  return {
    viewport,
    drawing,
    zoom,
    size,
    zoomBy: (factor) => zoomTo(zoomRef.current * factor),
    setZoom: (z) => zoomTo(z),
    fit,
  };
}

export function ZoomBar({ view }: { view: Viewport }) {
  return (
    <div className="zoom-bar" role="toolbar" aria-label="Zoom">
      <button type="button" title="Zoom out (Ctrl+-)" aria-label="Zoom out" onClick={() => view.zoomBy(1 / STEP)}>
        −
      </button>
      <button type="button" title="Actual size (Ctrl+0)" className="zoom-level" onClick={() => view.setZoom(1)}>
        {Math.round(view.zoom * 100)}%
      </button>
      <button type="button" title="Zoom in (Ctrl++)" aria-label="Zoom in" onClick={() => view.zoomBy(STEP)}>
        +
      </button>
      <button type="button" title="The whole pipeline in view (Shift+1)" onClick={view.fit}>
        Fit
      </button>
    </div>
  );
}

const MAP_WIDTH = 220;
const MAP_HEIGHT = 64;

/**
 * The whole pipeline small, one bar per stage (as tall as its run orders), with the part in view
 * outlined; a press moves the view there. Shown only when the drawing is larger than the view.
 */
export function Minimap({ view, heights }: { view: Viewport; heights: number[] }) {
  const [box, setBox] = useState({ left: 0, top: 0, width: 0, height: 0 });
  useEffect(() => {
    const element = view.viewport.current;
    if (!element) return;
    let frame = 0;
    const update = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() =>
        setBox({
          left: element.scrollLeft,
          top: element.scrollTop,
          width: element.clientWidth,
          height: element.clientHeight,
        }),
      );
    };
    update();
    element.addEventListener("scroll", update, { passive: true });
    // The view changes size when a panel folds or the window does, or when it is shown again.
    const resized = new ResizeObserver(update);
    resized.observe(element);
    return () => {
      cancelAnimationFrame(frame);
      element.removeEventListener("scroll", update);
      resized.disconnect();
    };
  }, [view.viewport, view.zoom]);
  const drawn = { width: view.size.width * view.zoom, height: view.size.height * view.zoom };
  if (heights.length === 0 || (drawn.width <= box.width + 1 && drawn.height <= box.height + 1)) return null;
  const scale = Math.min(MAP_WIDTH / drawn.width, MAP_HEIGHT / drawn.height);
  const tallest = Math.max(...heights, 1);
  const bar = (drawn.width * scale) / heights.length;
  const moveTo = (event: React.PointerEvent) => {
    const element = view.viewport.current;
    if (!element) return;
    const map = event.currentTarget.getBoundingClientRect();
    const x = (event.clientX - map.left) / scale - box.width / 2;
    const y = (event.clientY - map.top) / scale - box.height / 2;
    element.scrollTo(Math.max(0, x), Math.max(0, y));
  };
  return (
    <div
      className="minimap"
      aria-label="Overview"
      style={{ width: drawn.width * scale, height: drawn.height * scale }}
      onPointerDown={moveTo}
      onPointerMove={(e) => e.buttons === 1 && moveTo(e)}
    >
      {heights.map((h, i) => (
        <div
          key={i}
          className="minimap-stage"
          style={{ left: i * bar + 1, width: Math.max(1, bar - 2), height: Math.max(2, (h / tallest) * drawn.height * scale - 2) }}
        />
      ))}
      <div
        className="minimap-view"
        style={{
          left: box.left * scale,
          top: box.top * scale,
          width: Math.min(box.width, drawn.width) * scale,
          height: Math.min(box.height, drawn.height) * scale,
        }}
      />
    </div>
  );
}
