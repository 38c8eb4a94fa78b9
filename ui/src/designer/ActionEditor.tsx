// The form of the selected action: the configuration its type takes (from the catalog of action
// types: required ones marked, secrets typed unseen), its artifacts and variables.
// Every change is one edit of the declaration; typing in one field undoes as one step.
import type { Action, Diagnostic } from "../backend";
import { ListField } from "./fields";
import { fieldsOf, specOf } from "./providers";

interface Props {
  action: Action;
  /** Artifacts made before this action runs: what it may take as input. */
  available: string[];
  diagnostics: Diagnostic[];
  /** Where an artifact comes from and which actions take it. */
  uses: (artifact: string) => { producer?: string; consumers: string[] };
  onChange: (action: Action, field: string) => void;
  onRemove: () => void;
  onMove: (direction: "left" | "right" | "up" | "down") => void;
}

function artifactCount(count: { minimumCount: number; maximumCount: number }): string {
  return count.minimumCount === count.maximumCount ? `${count.minimumCount}` : `${count.minimumCount} to ${count.maximumCount}`;
}

/** Sets or removes an optional field, keeping every other key (and its order) as it was. */
function withField<K extends keyof Action>(action: Action, key: K, value: Action[K] | undefined): Action {
  const next = { ...action };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

export function ActionEditor({ action, available, diagnostics, uses, onChange, onRemove, onMove }: Props) {
  const spec = specOf(action.actionTypeId);
  const fields = fieldsOf(action.actionTypeId);
  const configuration = action.configuration ?? {};
  const knownKeys = new Set(fields.map((f) => f.key));
  const otherKeys = Object.keys(configuration).filter((k) => !knownKeys.has(k));
  const setConfig = (key: string, value: string) => {
    const next = { ...configuration, [key]: value };
    if (value === "") delete next[key];
    onChange(withField(action, "configuration", Object.keys(next).length ? next : undefined), `config.${key}`);
  };
  const inputs = new Set((action.inputArtifacts ?? []).map((a) => a.name));
  const toggleInput = (name: string) => {
    const names = inputs.has(name) ? [...inputs].filter((n) => n !== name) : [...inputs, name];
    onChange(withField(action, "inputArtifacts", names.map((n) => ({ name: n }))), "inputs");
  };

  return (
    <form className="editor card" aria-label={`Action ${action.name}`} onSubmit={(e) => e.preventDefault()}>
      <div className="editor-head">
        <strong>
          {action.actionTypeId.category} · {action.actionTypeId.provider}
        </strong>
        <div className="spacer" />
        <div className="move-buttons" role="group" aria-label="Move action">
          <button type="button" title="To the previous stage (Alt+←)" onClick={() => onMove("left")}>←</button>
          <button type="button" title="To an earlier run order (Alt+↑)" onClick={() => onMove("up")}>↑</button>
          <button type="button" title="To a later run order (Alt+↓)" onClick={() => onMove("down")}>↓</button>
          <button type="button" title="To the next stage (Alt+→)" onClick={() => onMove("right")}>→</button>
        </div>
        <button type="button" className="reject" onClick={onRemove}>
          Delete
        </button>
      </div>
      {diagnostics.length > 0 && (
        <ul className="diagnostics">
          {diagnostics.map((d, i) => (
            <li key={i} className={`severity-${d.severity}`}>
              {d.message}
              {d.hint && <span className="muted"> {d.hint}</span>}
            </li>
          ))}
        </ul>
      )}
      <label>
        Name
        <input name="name" value={action.name} onChange={(e) => onChange({ ...action, name: e.target.value }, "name")} />
      </label>
      <label>
        Run order
        <input
          type="number"
          min={1}
          value={action.runOrder ?? 1}
          onChange={(e) => onChange(withField(action, "runOrder", Math.max(1, Number(e.target.value) || 1)), "runOrder")}
        />
      </label>
      {spec && (
        <p className="muted type-summary" title={spec.reference}>
          {spec.summary} Takes {artifactCount(spec.inputArtifacts)} input and gives {artifactCount(spec.outputArtifacts)}{" "}
          output artifacts{spec.requiresV2 ? "; V2 pipelines only" : ""}.
        </p>
      )}
      {fields.map((field) => (
        <label key={field.key} title={field.hint}>
          {field.label}
          {field.required && <span aria-hidden> *</span>}
          {field.multiline ? (
            <textarea
              name={field.key}
              value={configuration[field.key] ?? ""}
              onChange={(e) => setConfig(field.key, e.target.value)}
            />
          ) : (
            <input
              name={field.key}
              type={field.secret ? "password" : "text"}
              autoComplete="off"
              list={field.allowedValues ? `values-${field.key}` : undefined}
              value={configuration[field.key] ?? ""}
              placeholder={field.hint}
              required={field.required}
              onChange={(e) => setConfig(field.key, e.target.value)}
            />
          )}
          {field.allowedValues && (
            <datalist id={`values-${field.key}`}>
              {field.allowedValues.map((v) => (
                <option key={v} value={v} />
              ))}
            </datalist>
          )}
        </label>
      ))}
      {otherKeys.map((key) => (
        <label key={key}>
          {key}
          <input name={key} value={configuration[key] ?? ""} onChange={(e) => setConfig(key, e.target.value)} />
        </label>
      ))}
      {action.actionTypeId.provider === "Commands" && (
        <label>
          Commands (one per line)
          <textarea
            name="commands"
            value={(action.commands ?? []).join("\n")}
            onChange={(e) => onChange({ ...action, commands: e.target.value.split("\n") }, "commands")}
          />
        </label>
      )}
      <fieldset>
        <legend>Input artifacts</legend>
        {available.length === 0 && inputs.size === 0 && <span className="muted">No earlier action outputs an artifact.</span>}
        {[...new Set([...available, ...inputs])].map((name) => (
          <label key={name} className="check">
            <input type="checkbox" checked={inputs.has(name)} onChange={() => toggleInput(name)} />
            {name}
            {!available.includes(name) && <span className="error-text"> (not made before this action)</span>}
            {available.includes(name) && uses(name).producer && <span className="muted"> from {uses(name).producer}</span>}
          </label>
        ))}
      </fieldset>
      <label>
        Output artifacts (comma-separated)
        <ListField
          name="outputArtifacts"
          value={action.outputArtifacts?.map((a) => a.name)}
          onChange={(names) => {
            const kept = new Map((action.outputArtifacts ?? []).map((a) => [a.name, a]));
            onChange(withField(action, "outputArtifacts", names?.map((n) => kept.get(n) ?? { name: n })), "outputs");
          }}
        />
      </label>
      {(action.outputArtifacts ?? []).map(({ name }) => {
        const takers = uses(name).consumers;
        return (
          <p key={name} className="muted artifact-use" data-artifact={name}>
            {name} → {takers.length > 0 ? takers.join(", ") : "no action takes it"}
          </p>
        );
      })}
      <label>
        Namespace (for #{"{"}Namespace.Variable{"}"})
        <input
          name="namespace"
          value={action.namespace ?? ""}
          onChange={(e) => onChange(withField(action, "namespace", e.target.value || undefined), "namespace")}
        />
      </label>
      <label>
        Output variables (comma-separated)
        <ListField
          name="outputVariables"
          value={action.outputVariables}
          onChange={(names) => onChange(withField(action, "outputVariables", names), "outputVariables")}
        />
      </label>
      <label>
        Timeout in minutes
        <input
          type="number"
          min={1}
          value={action.timeoutInMinutes ?? ""}
          onChange={(e) =>
            onChange(withField(action, "timeoutInMinutes", e.target.value ? Number(e.target.value) : undefined), "timeout")
          }
        />
      </label>
    </form>
  );
}
