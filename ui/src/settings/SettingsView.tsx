// Notifications: mute them all, mute some pipelines, or snooze them for a while.
import { useEffect, useState } from "react";

import {
  asBackendError,
  backend,
  type AwsConnection,
  type BackendError,
  type ConnectionInfo,
  type NotificationSettings,
} from "../backend";
import { ErrorBanner } from "../app/ErrorBanner";
import { formatTime } from "../status";

const SNOOZES: { label: string; minutes: number }[] = [
  { label: "15 minutes", minutes: 15 },
  { label: "1 hour", minutes: 60 },
  { label: "8 hours", minutes: 8 * 60 },
];

/** The AWS connections: where else pipelines are listed, watched and approved from. */
function Connections() {
  const [connections, setConnections] = useState<ConnectionInfo[]>([]);
  const [draft, setDraft] = useState<AwsConnection>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<BackendError>();
  const load = () => backend.listConnections().then(setConnections, (e) => setError(asBackendError(e)));
  useEffect(() => {
    void load();
  }, []);
  const field = (key: keyof AwsConnection, label: string, placeholder: string) => (
    <label>
      {label}
      <input
        name={key}
        placeholder={placeholder}
        value={draft[key] ?? ""}
        onChange={(e) => setDraft({ ...draft, [key]: e.target.value || undefined })}
      />
    </label>
  );
  return (
    <div className="card editor" aria-label="AWS connections">
      <div className="editor-head">
        <strong>AWS connections</strong>
      </div>
      <ErrorBanner error={error} onClose={() => setError(undefined)} />
      <ul className="plain">
        {connections.map((c) => (
          <li key={c.name} data-connection={c.name}>
            {c.name}
            {c.aws?.endpointUrl && <span className="muted"> at {c.aws.endpointUrl}</span>}
            {c.aws && (
              <button className="link" onClick={() => backend.removeConnection(c.name).then(load, (e) => setError(asBackendError(e)))}>
                {" "}
                Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      {field("profile", "Profile", "default (or AWS_PROFILE)")}
      {field("region", "Region", "the profile's, or AWS_REGION")}
      {field("endpointUrl", "Endpoint", "AWS's own (or a pipewright serve URL)")}
      <div>
        <button
          className="primary"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(undefined);
            try {
              await backend.addAwsConnection(draft);
              setDraft({});
              await load();
            } catch (e) {
              setError(asBackendError(e));
            } finally {
              setBusy(false);
            }
          }}
        >
          Add connection
        </button>
      </div>
    </div>
  );
}

export function SettingsView() {
  const [settings, setSettings] = useState<NotificationSettings>();
  const [pipelines, setPipelines] = useState<string[]>([]);
  const [error, setError] = useState<BackendError>();

  useEffect(() => {
    backend.notificationSettings().then(setSettings, (e) => setError(asBackendError(e)));
    backend.listPipelines().then(
      (all) => setPipelines([...new Set(all.flatMap((c) => c.pipelines.map((p) => p.name)))]),
      () => {},
    );
  }, []);

  const save = (next: NotificationSettings) => {
    setSettings(next);
    backend.setNotificationSettings(next).catch((e) => setError(asBackendError(e)));
  };

  if (!settings) return <ErrorBanner error={error} />;
  const snoozed = settings.snoozedUntilMs !== undefined && settings.snoozedUntilMs !== null && settings.snoozedUntilMs > Date.now();
  const muted = new Set(settings.mutedPipelines);
  return (
    <section className="view" aria-labelledby="settings-title">
      <header className="view-header">
        <h1 id="settings-title">Settings</h1>
      </header>
      <Connections />
      <ErrorBanner error={error} onClose={() => setError(undefined)} />
      <div className="card editor" aria-label="Notifications">
        <div className="editor-head">
          <strong>Notifications</strong>
        </div>
        <label className="check">
          <input
            type="checkbox"
            name="muted"
            checked={settings.muted}
            onChange={(e) => save({ ...settings, muted: e.target.checked })}
          />
          Mute every notification
        </label>
        <div>
          {snoozed ? (
            <>
              Snoozed until {formatTime(new Date(settings.snoozedUntilMs!).toISOString())}{" "}
              <button onClick={() => save({ ...settings, snoozedUntilMs: undefined })}>Wake up</button>
            </>
          ) : (
            <>
              Snooze for{" "}
              {SNOOZES.map((s) => (
                <button key={s.minutes} onClick={() => save({ ...settings, snoozedUntilMs: Date.now() + s.minutes * 60_000 })}>
                  {s.label}
                </button>
              ))}
            </>
          )}
        </div>
        <fieldset>
          <legend>Notify about these pipelines</legend>
          {pipelines.map((name) => (
            <label key={name} className="check">
              <input
                type="checkbox"
                data-notify-pipeline={name}
                checked={!muted.has(name)}
                onChange={(e) =>
                  save({
                    ...settings,
                    mutedPipelines: e.target.checked
                      ? settings.mutedPipelines.filter((p) => p !== name)
                      : [...settings.mutedPipelines, name],
                  })
                }
              />
              {name}
            </label>
          ))}
        </fieldset>
        <p className="muted">
          An approval that starts waiting notifies with Approve, Reject and Open; a failed execution notifies with
          Open. The tray icon shows the worst state of every pipeline.
        </p>
      </div>
    </section>
  );
}
