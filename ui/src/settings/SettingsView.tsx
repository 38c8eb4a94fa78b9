// Notifications: mute them all, mute some pipelines, or snooze them for a while.
import { useEffect, useState } from "react";

import { asBackendError, backend, type BackendError, type NotificationSettings } from "../backend";
import { ErrorBanner } from "../app/ErrorBanner";
import { formatTime } from "../status";

const SNOOZES: { label: string; minutes: number }[] = [
  { label: "15 minutes", minutes: 15 },
  { label: "1 hour", minutes: 60 },
  { label: "8 hours", minutes: 8 * 60 },
];

export function SettingsView() {
  const [settings, setSettings] = useState<NotificationSettings>();
  const [pipelines, setPipelines] = useState<string[]>([]);
  const [error, setError] = useState<BackendError>();

  useEffect(() => {
    backend.notificationSettings().then(setSettings, (e) => setError(asBackendError(e)));
    backend.listPipelines().then((out) => setPipelines(out.pipelines.map((p) => p.name)), () => {});
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
        <h1 id="settings-title">Notifications</h1>
      </header>
      <ErrorBanner error={error} onClose={() => setError(undefined)} />
      <div className="card editor">
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
