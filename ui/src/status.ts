// The one status vocabulary (CodePipeline's words) and how each looks, for every view.

export type Tone = "ok" | "bad" | "busy" | "waiting" | "idle";

/**
 * How a status reads at a glance: green, red, blue (running), amber (waiting for a person), grey
 * (not run, skipped, superseded or cancelled: nothing went wrong, nothing ran to the end).
 */
export function toneOf(status: string | undefined | null): Tone {
  switch (status) {
    case "Succeeded":
      return "ok";
    case "Failed":
    case "Stopped":
    case "Abandoned":
      return "bad";
    case "InProgress":
    case "Stopping":
      return "busy";
    case "Waiting for approval":
      return "waiting";
    default:
      return "idle";
  }
}

/** Milliseconds as a person reads a duration: 850 ms, 12.3 s, 4 min 05 s, 2 h 10 min. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(Math.floor(seconds % 60)).padStart(2, "0")} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

export function since(time: string | undefined | null, now = Date.now()): string {
  if (!time) return "";
  return formatDuration(now - Date.parse(time));
}

export function formatTime(time: string | undefined | null): string {
  if (!time) return "";
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? time : date.toLocaleString();
}

/** A size as people read it: 512 B, 3.4 kB, 12.0 MB (powers of 1000, as file managers show). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}
