// One subscription to the backend's stream of state changes, shared by every view: a view asks
// to be told about changes and refreshes what it shows.
import { useCallback, useEffect, useRef } from "react";

import { backend, type Change } from "../backend";

type Listener = (changes: Change[]) => void;

const listeners = new Set<Listener>();
let started: Promise<void> | undefined;

function ensureStarted() {
  started ??= backend.watchChanges((changes) => {
    for (const listener of listeners) listener(changes);
  });
  return started;
}

/** Calls `onChanges` (the latest one given) with every batch of changes while mounted. */
export function useChanges(onChanges: Listener) {
  const latest = useRef(onChanges);
  latest.current = onChanges;
  useEffect(() => {
    const listener: Listener = (changes) => latest.current(changes);
    listeners.add(listener);
    void ensureStarted();
    return () => {
      listeners.delete(listener);
    };
  }, []);
}

/**
 * `load` wrapped so that calls arriving while one runs are merged into one more run after it: a
 * burst of changes (a stage of a hundred actions ending) costs two loads, not a hundred.
 */
export function useCoalesced(load: () => Promise<unknown>): () => void {
  const latest = useRef(load);
  latest.current = load;
  const state = useRef<{ running: boolean; again: boolean }>({ running: false, again: false });
  return useCallback(() => {
    const s = state.current;
    if (s.running) {
      s.again = true;
      return;
    }
    s.running = true;
    const run = async () => {
      do {
        s.again = false;
        try {
          await latest.current();
        } catch {
          // Each view shows its own load errors; a failed load must not stop later ones.
        }
      } while (s.again);
      s.running = false;
    };
    void run();
  }, []);
}
