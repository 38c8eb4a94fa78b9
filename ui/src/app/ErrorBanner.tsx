import type { BackendError } from "../backend";

/** A backend error as the user sees it: what failed, and the code to search for. */
export function ErrorBanner({ error, onClose }: { error?: BackendError; onClose?: () => void }) {
  if (!error) return null;
  return (
    <div className="error-banner" role="alert">
      <strong>{error.code}</strong> {error.message}
      {onClose && (
        <button className="link" onClick={onClose} aria-label="Dismiss">
          ×
        </button>
      )}
    </div>
  );
}
