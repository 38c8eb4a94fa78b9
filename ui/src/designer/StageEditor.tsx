// The selected stage: its name, and its conditions (beforeEntry, onSuccess, onFailure) as forms.
import type { Diagnostic, PipelineDeclaration } from "../backend";
import { ConditionsForm, type ConditionKind } from "./ConditionsForm";
import { removeStage, renameStage, updateStage } from "./model";

const KINDS: ConditionKind[] = ["beforeEntry", "onSuccess", "onFailure"];

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
      {KINDS.map((kind) => (
        <ConditionsForm
          key={`${props.index}/${kind}`}
          stage={stage}
          kind={kind}
          onChange={(next) => props.onChange(updateStage(props.pipeline, props.index, next), `stage/${props.index}/${kind}`)}
        />
      ))}
    </form>
  );
}
