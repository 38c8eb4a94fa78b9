// One subscription to the backend's stream of state changes, shared by every view: a view asks
// to be told about changes and refreshes what it shows.
import { useEffect, useRef } from "react";

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
