import { useEffect, useState } from "react";

import { ErrorBanner } from "../app/ErrorBanner";
import { asBackendError, backend } from "../backend";
import type { BackendError, How, LocalAction, LocalSettingsForm } from "../backend";
import { choicesOf, parseVariables, problems, shownChoice, startChoice, variablesText } from "./choices";

/**
 * How a local pipeline runs on this machine, as a form: each action with its choices (a folder
 * for a source, chosen in the system's dialog or typed; simulation with output variables;
 * commands; an image for a build). Opened by Run when the pipeline cannot run as its settings
 * are (`purpose: "run"`: saving starts the run), or to edit the settings at any time.
 */
export function LocalSettingsDialog(props: {
  pipeline: string;
  purpose: "run" | "edit";
  /** Called after a save (true) or a cancel (false). */
  onDone: (saved: boolean) => void;
}) {
  const [form, setForm] = useState<LocalSettingsForm>();
  const [actions, setActions] = useState<LocalAction[]>([]);
  const [error, setError] = useState<BackendError>();
  const [saving, setSaving] = useState(false);
  /** Text fields that do not read back (variables without `=`), by action. */
  const [unreadable, setUnreadable] = useState<Record<string, string>>({});

  useEffect(() => {
    backend.localSettingsForm(props.pipeline).then(
      (loaded) => {
        setForm(loaded);
        setActions(loaded.actions.map((a) => ({ ...a, how: shownChoice(a) })));
      },
      (e) => setError(asBackendError(e)),
    );
  }, [props.pipeline]);

  const change = (key: string, how: How) => {
    setError(undefined);
    setActions((all) => all.map((a) => (a.key === key ? { ...a, how } : a)));
  };

  const save = () => {
    const missing = [
      ...problems(actions),
      ...Object.entries(unreadable).map(([key, why]) => `${key}: ${why}`),
    ];
    if (missing.length > 0) {
      setError({ code: "ValidationException", message: missing.join("; ") });
      return;
    }
    setSaving(true);
    backend.saveLocalSettings(props.pipeline, actions).then(
      () => props.onDone(true),
      (e) => {
        setSaving(false);
        setError(asBackendError(e));
      },
    );
  };

  return (
    <div className="dialog-backdrop">
      <div className="dialog card" role="dialog" aria-modal="true" aria-labelledby="local-settings-title">
        <h2 id="local-settings-title">How {props.pipeline} runs on this machine</h2>
        {form?.needsPlan && (
          <p className="notice warning">
            Some actions cannot run here as they are. Choose how each one runs; what has no local runner is
            simulated, labelled so in every view.
          </p>
        )}
        <ErrorBanner error={error} onClose={() => setError(undefined)} />
        {!form && !error && <p className="muted">Loading…</p>}
        {form && (
          <table className="local-actions">
            <tbody>
              {actions.map((action) => (
                <tr key={action.key} data-local-action={action.key} data-kind={action.kind}>
                  <th scope="row">
                    {action.key}
                    <div className="muted">{action.provider.split("/")[1]}</div>
                    {action.proposed && <span className="badge">proposed</span>}
                  </th>
                  <td>
                    <ChoiceEditor
                      action={action}
                      onChange={(how) => change(action.key, how)}
                      onUnreadable={(why) =>
                        setUnreadable(({ [action.key]: _, ...others }) => (why ? { ...others, [action.key]: why } : others))
                      }
                    />
                    {unchanged(form, action) && <div className="muted description">{action.description}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {form && form.notes.length > 0 && (
          <ul className="local-notes">
            {form.notes.map((note) => (
              <li key={note}>{note}</li>
            ))}
          </ul>
        )}
        <div className="dialog-buttons">
          <button onClick={() => props.onDone(false)}>Cancel</button>
          <button className="primary" disabled={!form || saving} onClick={save}>
            {props.purpose === "run" ? "Save and run" : "Save"}
          </button>
        </div>
      </div>
    </div>
  );
}

/** Whether an action is as the form came: its description is about that. */
function unchanged(form: LocalSettingsForm, action: LocalAction): boolean {
  const loaded = form.actions.find((a) => a.key === action.key);
  return loaded !== undefined && JSON.stringify(shownChoice(loaded)) === JSON.stringify(action.how);
}

function ChoiceEditor({
  action,
  onChange,
  onUnreadable,
}: {
  action: LocalAction;
  onChange: (how: How) => void;
  /** Why a text field does not read back, or undefined once it does. */
  onUnreadable: (why: string | undefined) => void;
}) {
  const how = action.how;
  const choices = choicesOf(action);
  const [variables, setVariables] = useState(how.kind === "simulate" ? variablesText(how.outputVariables) : "");
  const [variablesError, setVariablesError] = useState<string>();
  return (
    <div className="choice">
      {choices.length > 1 && (
        <div className="segmented" role="radiogroup" aria-label={`How ${action.key} runs`}>
          {choices.map((choice) => (
            <button
              key={choice.kind}
              role="radio"
              aria-checked={how.kind === choice.kind}
              className={how.kind === choice.kind ? "active" : ""}
              onClick={() => {
                if (how.kind === choice.kind) return;
                const started = startChoice(action, choice.kind);
                if (started.kind === "simulate") setVariables("");
                setVariablesError(undefined);
                onUnreadable(undefined);
                onChange(started);
              }}
            >
              {choice.label}
            </button>
          ))}
        </div>
      )}
      {how.kind === "folder" && (
        <div className="row">
          <input
            type="text"
            name="path"
            aria-label={`Folder for ${action.key}`}
            placeholder="/path/to/the/folder"
            value={how.path}
            onChange={(e) => onChange({ ...how, path: e.target.value })}
          />
          <button
            onClick={() =>
              backend.chooseFolder(`Folder for ${action.key}`).then((path) => path && onChange({ ...how, path }))
            }
          >
            Choose…
          </button>
          {action.kind === "source" && (
            <label>
              <input
                type="checkbox"
                checked={how.workingCopy}
                onChange={(e) => onChange({ ...how, workingCopy: e.target.checked })}
              />
              Working copy (uncommitted changes)
            </label>
          )}
        </div>
      )}
      {how.kind === "simulate" && (
        <label className="column">
          Output variables (NAME=value, one a line)
          <textarea
            name="outputVariables"
            rows={Math.max(2, variables.split("\n").length)}
            value={variables}
            onChange={(e) => {
              setVariables(e.target.value);
              const read = parseVariables(e.target.value);
              if ("error" in read) {
                setVariablesError(read.error);
                onUnreadable(read.error);
              } else {
                setVariablesError(undefined);
                onUnreadable(undefined);
                onChange({ kind: "simulate", outputVariables: read.variables });
              }
            }}
          />
          {variablesError && <span className="error-text">{variablesError}</span>}
        </label>
      )}
      {how.kind === "commands" && (
        <label className="column">
          Commands (one a line)
          <textarea
            name="commands"
            rows={3}
            value={how.commands.join("\n")}
            onChange={(e) => onChange({ kind: "commands", commands: e.target.value.split("\n") })}
          />
        </label>
      )}
      {how.kind === "build" && (
        <div className="row">
          <input
            type="text"
            name="image"
            aria-label={`Image for ${action.key}`}
            placeholder="this machine (or an image name)"
            value={how.image}
            onChange={(e) => onChange({ ...how, image: e.target.value })}
          />
          <label>
            <input
              type="checkbox"
              checked={how.privileged}
              disabled={how.image.trim() === ""}
              onChange={(e) => onChange({ ...how, privileged: e.target.checked })}
            />
            Privileged
          </label>
        </div>
      )}
    </div>
  );
}
