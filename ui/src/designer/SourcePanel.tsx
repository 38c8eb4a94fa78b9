// The same pipeline as JSON or YAML text. Edits on either side show on the other: the visual side
// re-renders this text; text that reads as a pipeline replaces the declaration, and text that
// does not says where it is wrong and changes nothing.
import { useEffect, useRef, useState } from "react";

import { asBackendError, backend, isParseError, type BackendError, type PipelineDeclaration } from "../backend";

/** How long typing may pause before the text is read back. */
const READ_AFTER_MS = 400;

export function SourcePanel(props: {
  pipeline: PipelineDeclaration;
  onChange: (pipeline: PipelineDeclaration) => void;
}) {
  const [yaml, setYaml] = useState(false);
  const [text, setText] = useState("");
  const [problem, setProblem] = useState<BackendError & { line?: number | null; column?: number | null }>();
  const [focused, setFocused] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout>>(undefined);

  // What the text shows: the declaration and format it was rendered from.
  const shownFor = useRef<{ pipeline?: PipelineDeclaration; yaml?: boolean }>({});

  // The declaration changed elsewhere (or the format did): show it. Not while the text has the
  // focus: that text is what produced it, and reformatting under the cursor would fight the user.
  // Text that does not read as a pipeline stays as typed, so leaving the field loses nothing.
  useEffect(() => {
    if (focused) return;
    if (problem && shownFor.current.pipeline === props.pipeline && shownFor.current.yaml === yaml) return;
    let live = true;
    backend.renderPipeline(props.pipeline, yaml).then(
      (rendered) => {
        if (!live) return;
        shownFor.current = { pipeline: props.pipeline, yaml };
        setText(rendered);
        setProblem(undefined);
      },
      (e) => live && setProblem(asBackendError(e)),
    );
    return () => {
      live = false;
    };
  }, [props.pipeline, yaml, focused, problem]);

  const onText = (value: string) => {
    setText(value);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      backend.parsePipeline(value, yaml).then(
        (parsed) => {
          setProblem(undefined);
          shownFor.current = { pipeline: parsed, yaml };
          props.onChange(parsed);
        },
        (e) => setProblem(isParseError(e) ? e : asBackendError(e)),
      );
    }, READ_AFTER_MS);
  };

  return (
    <div className="source card">
      <div className="source-head">
        <div className="segmented" role="radiogroup" aria-label="Text format">
          <button role="radio" aria-checked={!yaml} className={!yaml ? "active" : ""} onClick={() => setYaml(false)}>
            JSON
          </button>
          <button role="radio" aria-checked={yaml} className={yaml ? "active" : ""} onClick={() => setYaml(true)}>
            YAML
          </button>
        </div>
        {problem && (
          <span className="error-text" role="status" data-parse-error>
            {problem.line ? `Line ${problem.line}, column ${problem.column}: ` : ""}
            {problem.message}
          </span>
        )}
      </div>
      <textarea
        className="source-text"
        aria-label={yaml ? "Pipeline as YAML" : "Pipeline as JSON"}
        spellCheck={false}
        value={text}
        onChange={(e) => onText(e.target.value)}
        onFocus={() => setFocused(true)}
        onBlur={() => setFocused(false)}
      />
    </div>
  );
}
