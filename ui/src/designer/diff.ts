// A line diff between the saved pipeline and the one being edited, for the "Changes" panel.

export interface DiffLine {
  kind: "same" | "added" | "removed";
  text: string;
}

/** Past this many lines on each side of the changed middle, the middle shows as replaced whole. */
const MAX_MIDDLE = 3000;

export function diffLines(before: string, after: string): DiffLine[] {
  const a = before.split("\n");
  const b = after.split("\n");
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const same = (lines: string[]) => lines.map((text): DiffLine => ({ kind: "same", text }));
  const middle =
    endA - start > MAX_MIDDLE || endB - start > MAX_MIDDLE
      ? [
          ...a.slice(start, endA).map((text): DiffLine => ({ kind: "removed", text })),
          ...b.slice(start, endB).map((text): DiffLine => ({ kind: "added", text })),
        ]
      : lcsDiff(a.slice(start, endA), b.slice(start, endB));
  return [...same(a.slice(0, start)), ...middle, ...same(a.slice(endA))];
}

function lcsDiff(a: string[], b: string[]): DiffLine[] {
  // lengths[i][j]: the longest common subsequence of a[i..] and b[j..].
  const lengths = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i]![j] =
        a[i] === b[j] ? lengths[i + 1]![j + 1]! + 1 : Math.max(lengths[i + 1]![j]!, lengths[i]![j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push({ kind: "same", text: a[i]! });
      i++;
      j++;
    } else if (j < b.length && (i === a.length || lengths[i]![j + 1]! > lengths[i + 1]![j]!)) {
      out.push({ kind: "added", text: b[j]! });
      j++;
    } else {
      out.push({ kind: "removed", text: a[i]! });
      i++;
    }
  }
  return out;
}

/** Only the changed lines and `context` lines around each change; `null` marks a gap. */
export function changesOnly(lines: DiffLine[], context = 2): (DiffLine | null)[] {
  const keep = lines.map(() => false);
  lines.forEach((line, i) => {
    if (line.kind === "same") return;
    for (let k = Math.max(0, i - context); k <= Math.min(lines.length - 1, i + context); k++) keep[k] = true;
  });
  const out: (DiffLine | null)[] = [];
  lines.forEach((line, i) => {
    if (keep[i]) out.push(line);
    else if (out.length > 0 && out[out.length - 1] !== null) out.push(null);
  });
  if (out[out.length - 1] === null) out.pop();
  return out;
}
