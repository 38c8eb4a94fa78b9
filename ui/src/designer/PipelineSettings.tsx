// The pipeline's own settings: name, type, execution mode, variables and triggers.
import type { Diagnostic, PipelineDeclaration, PipelineVariableDeclaration } from "../backend";
import { TriggersForm } from "./TriggersForm";

export function PipelineSettings(props: {
  pipeline: PipelineDeclaration;
  diagnostics: Diagnostic[];
  onChange: (pipeline: PipelineDeclaration, group?: string) => void;
}) {
  const { pipeline, onChange } = props;
  const variables = pipeline.variables ?? [];
  const setVariables = (next: PipelineVariableDeclaration[]) => {
    const updated: PipelineDeclaration = { ...pipeline, variables: next };
    if (next.length === 0) delete updated.variables;
    onChange(updated, "variables");
  };
  const own = props.diagnostics.filter((d) => !d.path.startsWith("/stages/"));
  return (
    <form className="editor card" aria-label="Pipeline settings" onSubmit={(e) => e.preventDefault()}>
      {own.map((d, i) => (
        <p key={i} className={`severity-${d.severity}`}>
          {d.path || "/"}: {d.message}
        </p>
      ))}
      <label>
        Name
        <input name="pipelineName" value={pipeline.name} onChange={(e) => onChange({ ...pipeline, name: e.target.value }, "name")} />
      </label>
      <label>
        Pipeline type
        <select value={pipeline.pipelineType ?? "V1"} onChange={(e) => onChange({ ...pipeline, pipelineType: e.target.value })}>
          <option>V1</option>
          <option>V2</option>
        </select>
      </label>
      <label>
        Execution mode
        <select
          value={pipeline.executionMode ?? "SUPERSEDED"}
          onChange={(e) => onChange({ ...pipeline, executionMode: e.target.value })}
        >
          <option>SUPERSEDED</option>
          <option>QUEUED</option>
          <option>PARALLEL</option>
        </select>
      </label>
      <fieldset>
        <legend>Variables</legend>
        {variables.map((v, i) => (
          <div className="row" key={i}>
            <input
              aria-label="Variable name"
              placeholder="name"
              value={v.name}
              onChange={(e) => setVariables(variables.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)))}
            />
            <input
              aria-label="Default value"
              placeholder="default value"
              value={v.defaultValue ?? ""}
              onChange={(e) =>
                setVariables(
                  variables.map((x, j) => {
                    if (j !== i) return x;
                    const next: PipelineVariableDeclaration = { ...x, defaultValue: e.target.value };
                    if (e.target.value === "") delete next.defaultValue;
                    return next;
                  }),
                )
              }
            />
            <input
              aria-label="Description"
              placeholder="description"
              value={v.description ?? ""}
              onChange={(e) => setVariables(variables.map((x, j) => (j === i ? { ...x, description: e.target.value } : x)))}
            />
            <button type="button" onClick={() => setVariables(variables.filter((_, j) => j !== i))} aria-label={`Remove variable ${v.name}`}>
              ×
            </button>
          </div>
        ))}
        <button type="button" onClick={() => setVariables([...variables, { name: `var${variables.length + 1}` }])}>
          + Variable
        </button>
      </fieldset>
      <TriggersForm pipeline={pipeline} onChange={onChange} />
    </form>
  );
}
