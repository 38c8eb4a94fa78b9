// The local settings form's edits as pure functions: which choices an action has, what a choice
// starts as, and the text fields (variables as NAME=value lines, commands one a line) read back.
import type { How, LocalAction } from "../backend";

export type ChoiceKind = How["kind"];

/** The choices the form offers an action of this kind, with their labels. */
export function choicesOf(action: LocalAction): { kind: ChoiceKind; label: string }[] {
  switch (action.kind) {
    case "source":
      return [
        { kind: "folder", label: "Folder" },
        { kind: "simulate", label: "Simulate" },
      ];
    case "deploy":
      return [
        { kind: "folder", label: "Into a folder" },
        { kind: "simulate", label: "Simulate" },
      ];
    case "noRunner":
      return [
        { kind: "simulate", label: "Simulate" },
        { kind: "commands", label: "Commands" },
      ];
    case "build":
      return [{ kind: "build", label: "Build" }];
    case "runs":
      return [];
  }
}

/** A choice as it starts when the user picks it (a folder still to choose, no variables...). */
export function startChoice(action: LocalAction, kind: ChoiceKind): How {
  switch (kind) {
    case "folder":
      return { kind: "folder", path: "", workingCopy: action.kind === "source" };
    case "simulate":
      return { kind: "simulate", outputVariables: {} };
    case "commands":
      return { kind: "commands", commands: [] };
    case "build":
      return { kind: "build", image: "", privileged: false };
    case "native":
      return { kind: "native" };
    case "needsFolder":
      return { kind: "needsFolder" };
  }
}

/** What the form shows for a choice: a source with no folder yet shows as an empty folder. */
export function shownChoice(action: LocalAction): How {
  return action.how.kind === "needsFolder" ? startChoice(action, "folder") : action.how;
}

/** Output variables as the user types them: `NAME=value`, one a line. */
export function variablesText(variables: Record<string, string>): string {
  return Object.entries(variables)
    .map(([name, value]) => `${name}=${value}`)
    .join("\n");
}

/** The lines read back; a line without `=` is an error that names it. */
export function parseVariables(text: string): { variables: Record<string, string> } | { error: string } {
  const variables: Record<string, string> = {};
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const at = line.indexOf("=");
    if (at <= 0) return { error: `line ${index + 1}: write it as NAME=value` };
    variables[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return { variables };
}

/** What keeps the form from being saved, before the backend is asked: one line each. */
export function problems(actions: LocalAction[]): string[] {
  return actions.flatMap((action) => {
    const how = shownChoice(action);
    if (how.kind === "folder" && how.path.trim() === "") return [`Choose a folder for ${action.key}`];
    if (how.kind === "commands" && how.commands.every((c) => c.trim() === ""))
      return [`Give ${action.key} at least one command`];
    return [];
  });
}
