import { toneOf } from "../status";

export function StatusBadge({ status }: { status?: string | null }) {
  const label = status ?? "Never run";
  return (
    <span className={`status tone-${toneOf(status)}`} data-status={label}>
      {label}
    </span>
  );
}
