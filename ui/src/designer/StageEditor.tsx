// The selected stage: its name, and its conditions (beforeEntry, onSuccess, onFailure) as JSON in
// CodePipeline's own shape, since their rules vary by rule provider.
import { useState } from "react";

import type { Diagnostic, PipelineDeclaration, Stage } from "../backend";
import { removeStage, renameStage, updateStage } from "./model";

type ConditionKey = "beforeEntry" | "onSuccess" | "onFailure";

const CONDITIONS: { key: ConditionKey; label: string; example: string }[] = [
  { key: "beforeEntry", label: "Before entry", example: '{"conditions": [{"result": "FAIL", "rules": [...]}]}' },
  { key: "onSuccess", label: "On success", example: '{"conditions": [{"result": "ROLLBACK", "rules": [...]}]}' },
  { key: "onFailure", label: "On failure", example: '{"result": "RETRY", "retryConfiguration": {"retryMode": "FAILED_ACTIONS"}}' },
];

export function StageEditor(props: {
  pipeline: PipelineDeclaration;
  index: number;
  diagnostics: Diagnostic[];
  onChange: (pipeline: PipelineDeclaration, group?: string) => void;
  onRemoved: () => void;
}) {
  const stage = props.pipeline.stages[props.index]!;
  return (
    <form className="editor card" aria-label={`Stage ${stage.name}`} onSubmit={(e) => e.preventDefault()}>
      <div className="editor-head">
        <strong>Stage</strong>
        <div className="spacer" />
        <button
          type="button"
          className="reject"
          onClick={() => {
            props.onChange(removeStage(props.pipeline, props.index));
            props.onRemoved();
          }}
        >
          Delete stage
        </button>
      </div>
      {props.diagnostics.map((d, i) => (
        <p key={i} className={`severity-${d.severity}`}>
          {d.message}
        </p>
      ))}
      <label>
        Name
        <input
          name="stageName"
          value={stage.name}
          onChange={(e) => props.onChange(renameStage(props.pipeline, props.index, e.target.value), `stage/${props.index}/name`)}
        />
      </label>
      {CONDITIONS.map((c) => (
        <ConditionField
          key={`${props.index}/${c.key}`}
          label={c.label}
          example={c.example}
          value={stage[c.key]}
          onChange={(value) => {
            const next: Stage = { ...stage };
            if (value === undefined) delete next[c.key];
            else (next as Record<string, unknown>)[c.key] = value;
            props.onChange(updateStage(props.pipeline, props.index, next), `stage/${props.index}/${c.key}`);
          }}
        />
      ))}
    </form>
  );
}

function ConditionField(props: {
  label: string;
  example: string;
  value: unknown;
  onChange: (value: unknown) => void;
}) {
  const [text, setText] = useState(props.value === undefined ? "" : JSON.stringify(props.value, null, 2));
  const [problem, setProblem] = useState<string>();
  return (
    <label>
      {props.label}
      <textarea
        value={text}
        placeholder={props.example}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === "") {
            setProblem(undefined);
            props.onChange(undefined);
            return;
          }
          try {
            props.onChange(JSON.parse(e.target.value));
            setProblem(undefined);
          } catch (error) {
            setProblem(String(error));
          }
        }}
      />
      {problem && <span className="error-text">{problem}</span>}
    </label>
  );
}
