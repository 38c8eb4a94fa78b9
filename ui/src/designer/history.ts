// Undo and redo for the designer: every edit pushes the declaration it replaced. Edits that come
// in a burst (typing in a field) are merged into one step by giving them the same `group`.

export interface History<T> {
  past: T[];
  present: T;
  future: T[];
  /** The group of the last edit; a new edit of the same group replaces it instead of stacking. */
  lastGroup?: string;
}

/** How many steps are kept; older ones are forgotten. */
const LIMIT = 200;

export function start<T>(present: T): History<T> {
  return { past: [], present, future: [] };
}

export function edit<T>(history: History<T>, next: T, group?: string): History<T> {
  if (next === history.present) return history;
  if (group !== undefined && group === history.lastGroup) {
    return { ...history, present: next, future: [] };
  }
  const past = [...history.past, history.present].slice(-LIMIT);
  return { past, present: next, future: [], lastGroup: group };
}

export function undo<T>(history: History<T>): History<T> {
  const previous = history.past[history.past.length - 1];
  if (previous === undefined) return history;
  return {
    past: history.past.slice(0, -1),
    present: previous,
    future: [history.present, ...history.future],
  };
}

export function redo<T>(history: History<T>): History<T> {
  const [next, ...future] = history.future;
  if (next === undefined) return history;
  return { past: [...history.past, history.present], present: next, future };
}
