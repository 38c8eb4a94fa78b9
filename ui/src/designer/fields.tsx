// Text fields over structured values (a list written with commas, a JSON document). The field keeps
// what the user types, so a trailing comma or half-written JSON stays on screen, and passes the
// parsed value on; when the value changes from elsewhere (undo, the JSON panel) the text follows.
import { useEffect, useState } from "react";

function useTextOf<T>(value: T, format: (value: T) => string, parse: (text: string) => T | Error) {
  const [text, setText] = useState(() => format(value));
  useEffect(() => {
    const parsed = parse(text);
    if (parsed instanceof Error || format(parsed) !== format(value)) setText(format(value));
    // Only a change of the value itself re-syncs the text; typing must not be reformatted.
  }, [value]);
  return [text, setText] as const;
}

const joinList = (items: string[] | undefined) => (items ?? []).join(", ");
const splitList = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");

/** A list of names written with commas; `onChange` gets undefined for an empty list. */
export function ListField(props: { name: string; value: string[] | undefined; onChange: (items: string[] | undefined) => void }) {
  const [text, setText] = useTextOf(props.value, joinList, splitList);
  return (
    <input
      name={props.name}
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        const items = splitList(e.target.value);
        props.onChange(items.length > 0 ? items : undefined);
      }}
    />
  );
}

const pretty = (value: unknown) => (value === undefined ? "" : JSON.stringify(value, null, 2));
const readJson = (text: string): unknown => {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
};

/** A JSON document; empty text is undefined. Text that does not parse is shown with the error. */
export function JsonField(props: {
  value: unknown;
  placeholder?: string;
  check?: (value: unknown) => string | undefined;
  onChange: (value: unknown) => void;
}) {
  const [text, setText] = useTextOf(props.value, pretty, readJson);
  const parsed = readJson(text);
  const problem = parsed instanceof Error ? parsed.message : props.check?.(parsed);
  return (
    <>
      <textarea
        value={text}
        placeholder={props.placeholder}
        onChange={(e) => {
          setText(e.target.value);
          const value = readJson(e.target.value);
          if (!(value instanceof Error) && props.check?.(value) === undefined) props.onChange(value);
        }}
      />
      {problem && <span className="error-text">{problem}</span>}
    </>
  );
}
