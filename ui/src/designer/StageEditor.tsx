// The selected stage: its name, and its conditions (beforeEntry, onSuccess, onFailure) as JSON in
// CodePipeline's own shape, since their rules vary by rule provider.
import type { Diagnostic, PipelineDeclaration, Stage } from "../backend";
import { JsonField } from "./fields";
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
  return (
    <label>
      {props.label}
      <JsonField value={props.value} placeholder={props.example} onChange={props.onChange} />
    </label>
  );
}
