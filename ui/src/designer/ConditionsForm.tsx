// A stage's conditions as a form: before entry, on success and on failure, each with its condition
// (what it engages, and up to five rules: a variable check, a CloudWatch alarm, a deployment
// window, a Lambda function or commands), and on failure the stage's own result and retry mode.
// Fields AWS adds later survive: every edit copies what it does not touch whole.
import type { Condition, RuleDeclaration, Stage } from "../backend";

export type ConditionKind = "beforeEntry" | "onSuccess" | "onFailure";

/** What a condition of each kind may engage (the API reference's results per kind). */
const RESULTS: Record<ConditionKind, string[]> = {
  beforeEntry: ["FAIL", "SKIP"],
  onSuccess: ["ROLLBACK", "FAIL"],
  onFailure: ["ROLLBACK"],
};

const TITLES: Record<ConditionKind, string> = {
  beforeEntry: "Before entry",
  onSuccess: "On success",
  onFailure: "On failure",
};

/** The rule providers and the configuration each takes; other keys a rule has are shown too. */
const RULE_TYPES: { provider: string; keys: string[] }[] = [
  { provider: "VariableCheck", keys: ["Variable", "Operator", "Value"] },
  { provider: "CloudWatchAlarm", keys: ["AlarmName", "AlarmStates", "WaitTime"] },
  { provider: "DeploymentWindow", keys: ["Cron", "TimeZone"] },
  { provider: "LambdaInvoke", keys: ["FunctionName", "UserParameters"] },
  { provider: "Commands", keys: [] },
];

const MAX_RULES = 5;

type Conditions = { result?: string; conditions?: Condition[]; retryConfiguration?: { retryMode?: string } };

function without<T extends object>(object: T, key: keyof T): T {
  const next = { ...object };
  delete next[key];
  return next;
}

export function ConditionsForm(props: { stage: Stage; kind: ConditionKind; onChange: (stage: Stage) => void }) {
  const { stage, kind } = props;
  const block = (stage[kind] ?? {}) as Conditions;
  const setBlock = (next: Conditions) => {
    const empty = Object.keys(next).length === 0;
    props.onChange(empty ? without(stage, kind) : ({ ...stage, [kind]: next } as Stage));
  };
  const condition = block.conditions?.[0];
  const setCondition = (next: Condition | undefined) =>
    setBlock(next ? { ...block, conditions: [next, ...(block.conditions ?? []).slice(1)] } : without(block, "conditions"));
  const rules = condition?.rules ?? [];
  const setRules = (next: RuleDeclaration[]) => condition && setCondition({ ...condition, rules: next });

  return (
    <fieldset className="conditions" data-conditions={kind}>
      <legend>{TITLES[kind]}</legend>
      {kind === "onFailure" && (
        <div className="row">
          <label>
            The stage then
            <select
              name="onFailure.result"
              value={block.result ?? ""}
              onChange={(e) => {
                const result = e.target.value;
                // A retry says how (the failed actions by default); no other result takes that.
                const rest = without(without(block, "result"), "retryConfiguration");
                if (!result) setBlock(rest);
                else if (result === "RETRY")
                  setBlock({ ...rest, result, retryConfiguration: block.retryConfiguration ?? { retryMode: "FAILED_ACTIONS" } });
                else setBlock({ ...rest, result });
              }}
            >
              <option value="">fails (the default)</option>
              <option value="ROLLBACK">rolls back</option>
              <option value="RETRY">retries</option>
              <option value="FAIL">fails</option>
              <option value="SKIP">is skipped</option>
            </select>
          </label>
          {block.result === "RETRY" && (
            <label>
              Retry
              <select
                name="retryMode"
                value={block.retryConfiguration?.retryMode ?? "FAILED_ACTIONS"}
                onChange={(e) => setBlock({ ...block, retryConfiguration: { ...block.retryConfiguration, retryMode: e.target.value } })}
              >
                <option value="FAILED_ACTIONS">the failed actions</option>
                <option value="ALL_ACTIONS">all actions</option>
              </select>
            </label>
          )}
        </div>
      )}
      {!condition ? (
        <button
          type="button"
          onClick={() => setCondition({ result: RESULTS[kind][0], rules: [newRule("VariableCheck", [])] })}
        >
          + Condition
        </button>
      ) : (
        <div className="condition">
          <div className="row">
            <label>
              When a rule fails, it engages
              <select name="condition.result" value={condition.result ?? ""} onChange={(e) => setCondition({ ...condition, result: e.target.value })}>
                {[...new Set([condition.result ?? RESULTS[kind][0], ...RESULTS[kind]])].map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
            </label>
            <div className="spacer" />
            <button type="button" className="reject" onClick={() => setCondition(undefined)}>
              Remove condition
            </button>
          </div>
          {rules.map((rule, r) => (
            <RuleForm
              key={r}
              rule={rule}
              onChange={(next) => setRules(rules.map((x, i) => (i === r ? next : x)))}
              onRemove={() => setRules(rules.filter((_, i) => i !== r))}
            />
          ))}
          <button
            type="button"
            disabled={rules.length >= MAX_RULES}
            onClick={() => setRules([...rules, newRule("VariableCheck", rules.map((x) => x.name))])}
          >
            + Rule
          </button>
        </div>
      )}
    </fieldset>
  );
}

function newRule(provider: string, taken: string[]): RuleDeclaration {
  let name = provider;
  for (let n = 2; taken.includes(name); n++) name = `${provider}-${n}`;
  return {
    name,
    ruleTypeId: { category: "Rule", owner: "AWS", provider, version: "1" },
    ...(provider === "Commands" ? { commands: ["true"] } : { configuration: {} }),
  };
}

function RuleForm(props: { rule: RuleDeclaration; onChange: (rule: RuleDeclaration) => void; onRemove: () => void }) {
  const { rule } = props;
  const provider = rule.ruleTypeId.provider;
  const configuration = rule.configuration ?? {};
  const known = RULE_TYPES.find((t) => t.provider === provider)?.keys ?? [];
  const keys = [...known, ...Object.keys(configuration).filter((k) => !known.includes(k))];
  const setConfig = (key: string, value: string) => {
    const next = { ...configuration, [key]: value };
    if (value === "") delete next[key];
    props.onChange({ ...rule, configuration: next });
  };
  return (
    <div className="rule" data-rule={rule.name}>
      <div className="row">
        <label>
          Rule
          <input name="rule.name" value={rule.name} onChange={(e) => props.onChange({ ...rule, name: e.target.value })} />
        </label>
        <label>
          Provider
          <select
            name="rule.provider"
            value={provider}
            onChange={(e) => {
              // Another provider takes other configuration: the rule keeps its name and the rest.
              const fresh = newRule(e.target.value, []);
              const kept = without(without(rule, "configuration"), "commands");
              if (kept.name === provider || kept.name.startsWith(`${provider}-`)) kept.name = kept.name.replace(provider, e.target.value);
              props.onChange(
                fresh.commands
                  ? { ...kept, ruleTypeId: { ...rule.ruleTypeId, provider: e.target.value }, commands: fresh.commands }
                  : { ...kept, ruleTypeId: { ...rule.ruleTypeId, provider: e.target.value }, configuration: {} },
              );
            }}
          >
            {[...new Set([provider, ...RULE_TYPES.map((t) => t.provider)])].map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </label>
        <button type="button" onClick={props.onRemove} aria-label={`Remove rule ${rule.name}`}>
          ×
        </button>
      </div>
      {keys.map((key) => (
        <label key={key}>
          {key}
          <input name={`rule.${key}`} value={configuration[key] ?? ""} onChange={(e) => setConfig(key, e.target.value)} />
        </label>
      ))}
      {provider === "Commands" && (
        <label>
          Commands (one per line)
          <textarea
            name="rule.commands"
            value={(rule.commands ?? []).join("\n")}
            onChange={(e) => props.onChange({ ...rule, commands: e.target.value.split("\n") })}
          />
        </label>
      )}
    </div>
  );
}
