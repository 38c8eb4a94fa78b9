// A V2 pipeline's triggers as a form: for each, the connection source it watches, its push filters
// (branches, tags, file paths) and pull-request filters (events, branches, file paths), each with
// includes and excludes. Every edit copies the objects it does not touch whole, so fields AWS adds
// later survive.
import type { GitPullRequestFilter, GitPushFilter, IncludeExclude, PipelineDeclaration, TriggerDeclaration } from "../backend";
import { ListField } from "./fields";

const PULL_REQUEST_EVENTS = ["OPEN", "UPDATED", "CLOSED"];
/** The API's limit on a trigger's push filters, and on its pull-request filters. */
const MAX_FILTERS = 3;

type Change = (pipeline: PipelineDeclaration, group?: string) => void;

/** The first stage's connection sources: the actions a trigger can name. */
function triggerSources(pipeline: PipelineDeclaration): string[] {
  return (pipeline.stages[0]?.actions ?? [])
    .filter((a) => a.actionTypeId.provider === "CodeStarSourceConnection")
    .map((a) => a.name);
}

/** Sets `key` of an object, removing it when `value` is undefined. */
function withKey<T extends object, K extends keyof T>(object: T, key: K, value: T[K] | undefined): T {
  const next = { ...object };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

export function TriggersForm({ pipeline, onChange }: { pipeline: PipelineDeclaration; onChange: Change }) {
  const triggers = pipeline.triggers ?? [];
  const sources = triggerSources(pipeline);
  // A source action has one trigger: a new one goes to a source that has none yet.
  const watched = new Set(triggers.map((t) => t.gitConfiguration.sourceActionName));
  const unwatched = sources.filter((s) => !watched.has(s));
  const setTriggers = (next: TriggerDeclaration[], group: string) =>
    onChange(withKey(pipeline, "triggers", next.length > 0 ? next : undefined), group);
  const setTrigger = (t: number, trigger: TriggerDeclaration, group: string) =>
    setTriggers(
      triggers.map((x, i) => (i === t ? trigger : x)),
      `triggers/${t}/${group}`,
    );
  return (
    <fieldset className="triggers" aria-label="Triggers">
      <legend>Triggers</legend>
      {triggers.length === 0 && (
        <p className="muted">No trigger: a change to a connection source starts the pipeline (the default).</p>
      )}
      {triggers.map((trigger, t) => {
        const git = trigger.gitConfiguration;
        const setGit = (next: typeof git, group: string) => setTrigger(t, { ...trigger, gitConfiguration: next }, group);
        const push = git.push ?? [];
        const pulls = git.pullRequest ?? [];
        return (
          <div className="trigger card" key={t} data-trigger={t}>
            <div className="row">
              <label>
                Source action
                <select
                  name="sourceActionName"
                  value={git.sourceActionName}
                  onChange={(e) => setGit({ ...git, sourceActionName: e.target.value }, "source")}
                >
                  {[...new Set([git.sourceActionName, ...sources])].map((name) => (
                    <option key={name} value={name}>
                      {name || "(none)"}
                    </option>
                  ))}
                </select>
              </label>
              <span className="muted">{trigger.providerType}</span>
              <div className="spacer" />
              <button type="button" className="reject" onClick={() => setTriggers(triggers.filter((_, i) => i !== t), "triggers")}>
                Remove trigger
              </button>
            </div>
            {push.map((filter, f) => (
              <Filter
                key={`push-${f}`}
                title="On push"
                kinds={[
                  ["branches", "Branches"],
                  ["tags", "Tags"],
                  ["filePaths", "File paths"],
                ]}
                filter={filter}
                onChange={(next) =>
                  setGit(withKey(git, "push", push.map((x, i) => (i === f ? (next as GitPushFilter) : x))), `push/${f}`)
                }
                onRemove={() => {
                  const rest = push.filter((_, i) => i !== f);
                  setGit(withKey(git, "push", rest.length > 0 ? rest : undefined), "push");
                }}
              />
            ))}
            {pulls.map((filter, f) => (
              <Filter
                key={`pull-${f}`}
                title="On pull request"
                kinds={[
                  ["branches", "Branches"],
                  ["filePaths", "File paths"],
                ]}
                filter={filter}
                onChange={(next) =>
                  setGit(
                    withKey(git, "pullRequest", pulls.map((x, i) => (i === f ? (next as GitPullRequestFilter) : x))),
                    `pullRequest/${f}`,
                  )
                }
                onRemove={() => {
                  const rest = pulls.filter((_, i) => i !== f);
                  setGit(withKey(git, "pullRequest", rest.length > 0 ? rest : undefined), "pullRequest");
                }}
              >
                <div className="row" role="group" aria-label="Pull request events">
                  {PULL_REQUEST_EVENTS.map((event) => {
                    const events = filter.events ?? [];
                    return (
                      <label key={event} className="check">
                        <input
                          type="checkbox"
                          checked={events.includes(event)}
                          onChange={() => {
                            const next = events.includes(event) ? events.filter((e) => e !== event) : [...events, event];
                            setGit(
                              withKey(
                                git,
                                "pullRequest",
                                pulls.map((x, i) => (i === f ? withKey(x, "events", next.length > 0 ? next : undefined) : x)),
                              ),
                              `pullRequest/${f}/events`,
                            );
                          }}
                        />
                        {event}
                      </label>
                    );
                  })}
                </div>
              </Filter>
            ))}
            <div className="row">
              <button
                type="button"
                disabled={push.length >= MAX_FILTERS}
                onClick={() => setGit({ ...git, push: [...push, { branches: { includes: ["main"] } }] }, "push")}
              >
                + Push filter
              </button>
              <button
                type="button"
                disabled={pulls.length >= MAX_FILTERS}
                onClick={() =>
                  setGit({ ...git, pullRequest: [...pulls, { events: ["OPEN", "UPDATED"], branches: { includes: ["main"] } }] }, "pullRequest")
                }
              >
                + Pull request filter
              </button>
            </div>
          </div>
        );
      })}
      <button
        type="button"
        disabled={unwatched.length === 0}
        title={
          unwatched.length === 0
            ? "A trigger watches a CodeStarSourceConnection action of the first stage, one trigger each"
            : undefined
        }
        onClick={() =>
          setTriggers(
            [
              ...triggers,
              {
                providerType: "CodeStarSourceConnection",
                gitConfiguration: { sourceActionName: unwatched[0] ?? "", push: [{ branches: { includes: ["main"] } }] },
              },
            ],
            "triggers",
          )
        }
      >
        + Trigger
      </button>
    </fieldset>
  );
}

/** One push or pull-request filter: includes and excludes for each kind of pattern. */
function Filter<F extends Partial<Record<string, IncludeExclude | string[]>>>(props: {
  title: string;
  kinds: [string, string][];
  filter: F;
  onChange: (filter: F) => void;
  onRemove: () => void;
  children?: React.ReactNode;
}) {
  const { filter } = props;
  const set = (kind: string, side: "includes" | "excludes", items: string[] | undefined) => {
    const current = (filter[kind] as IncludeExclude | undefined) ?? {};
    const patterns = withKey(current, side, items);
    const empty = patterns.includes === undefined && patterns.excludes === undefined;
    props.onChange(withKey(filter, kind, (empty ? undefined : patterns) as F[string]));
  };
  return (
    <div className="trigger-filter" data-filter={props.title}>
      <div className="row">
        <strong>{props.title}</strong>
        <div className="spacer" />
        <button type="button" onClick={props.onRemove} aria-label={`Remove this ${props.title.toLowerCase()} filter`}>
          ×
        </button>
      </div>
      {props.children}
      {props.kinds.map(([kind, label]) => {
        const patterns = (filter[kind] as IncludeExclude | undefined) ?? {};
        return (
          <div className="row" key={kind}>
            <label>
              {label} included
              <ListField name={`${kind}.includes`} value={patterns.includes} onChange={(items) => set(kind, "includes", items)} />
            </label>
            <label>
              {label} excluded
              <ListField name={`${kind}.excludes`} value={patterns.excludes} onChange={(items) => set(kind, "excludes", items)} />
            </label>
          </div>
        );
      })}
    </div>
  );
}
