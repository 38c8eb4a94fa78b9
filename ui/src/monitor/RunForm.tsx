import { useState } from "react";

import type { PipelineDeclaration } from "../backend";

/** Start an execution, overriding pipeline variables (each shows its default). */
export function RunForm(props: {
  declaration: PipelineDeclaration;
  onRun: (variables: Record<string, string>) => void;
}) {
  const [values, setValues] = useState<Record<string, string>>({});
  const variables = props.declaration.variables ?? [];
  return (
    <form
      className="card run-form"
      onSubmit={(e) => {
        e.preventDefault();
        const overrides = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== ""));
        props.onRun(overrides);
      }}
    >
      {variables.length === 0 && <span className="muted">This pipeline has no variables.</span>}
      {variables.map((v) => (
        <label key={v.name}>
          {v.name}
          <input
            type="text"
            placeholder={v.defaultValue ?? "(required)"}
            value={values[v.name] ?? ""}
            onChange={(e) => setValues({ ...values, [v.name]: e.target.value })}
          />
          {v.description && <span className="muted">{v.description}</span>}
        </label>
      ))}
      <button className="primary" type="submit">
        Start execution
      </button>
    </form>
  );
}
