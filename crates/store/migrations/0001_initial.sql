-- Migrations are append-only once they land: never edit this file again, add 0002_... instead
-- (sqlx refuses a database whose applied migration has changed).

-- Times are milliseconds since the Unix epoch. JSON columns hold serde_json text.

CREATE TABLE pipelines (
    name            TEXT PRIMARY KEY,
    latest_version  INTEGER NOT NULL,
    created_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL
);

-- Saving a pipeline never overwrites: it adds version n+1.
CREATE TABLE pipeline_versions (
    pipeline     TEXT NOT NULL REFERENCES pipelines(name) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    declaration  TEXT NOT NULL,   -- the PipelineDeclaration, exactly as AWS would take it
    settings     TEXT,            -- Pipewright's local settings, kept apart from the declaration
    created_ms   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    PRIMARY KEY (pipeline, version)
);

-- A row means the inbound transition of the stage is disabled.
CREATE TABLE disabled_transitions (
    pipeline     TEXT NOT NULL,
    stage        TEXT NOT NULL,
    reason       TEXT NOT NULL,
    disabled_by  TEXT NOT NULL,
    disabled_ms  INTEGER NOT NULL,
    PRIMARY KEY (pipeline, stage)
);

-- Every process that runs executions registers here; an execution's owner is one of these.
-- (pid, proc_start) identifies the process even if the pid is reused later.
CREATE TABLE engines (
    id            TEXT PRIMARY KEY,
    pid           INTEGER NOT NULL,
    proc_start    INTEGER NOT NULL,
    started_ms    INTEGER NOT NULL,
    heartbeat_ms  INTEGER NOT NULL
);

CREATE TABLE executions (
    id              TEXT PRIMARY KEY,
    seq             INTEGER NOT NULL UNIQUE,  -- start order across all pipelines
    pipeline        TEXT NOT NULL,
    version         INTEGER NOT NULL,
    status          TEXT NOT NULL,
    summary         TEXT,
    execution_type  TEXT NOT NULL DEFAULT 'STANDARD',
    trigger_type    TEXT NOT NULL,
    trigger_detail  TEXT,
    variables       TEXT NOT NULL,            -- resolved pipeline variables, JSON object
    client_token    TEXT,
    owner           TEXT,                     -- engines.id while an engine drives it
    stop_mode       TEXT,                     -- 'wait' | 'abandon' once a stop was asked for
    stop_reason     TEXT,
    started_ms      INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    ended_ms        INTEGER
);
CREATE INDEX executions_by_pipeline ON executions (pipeline, seq);

-- One row per stage an execution reached; a retry updates it in place (attempt + 1).
CREATE TABLE stage_executions (
    execution_id  TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
    pipeline      TEXT NOT NULL,
    stage         TEXT NOT NULL,
    status        TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    entered_seq   INTEGER NOT NULL,  -- global entry order: the latest execution of a stage has the highest
    started_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    ended_ms      INTEGER,
    PRIMARY KEY (execution_id, stage)
);
CREATE INDEX stage_executions_by_stage ON stage_executions (pipeline, stage, entered_seq);

-- Executions waiting to enter a stage (locked stage, disabled transition, or queue).
CREATE TABLE stage_waits (
    execution_id   TEXT PRIMARY KEY REFERENCES executions(id) ON DELETE CASCADE,
    pipeline       TEXT NOT NULL,
    stage          TEXT NOT NULL,
    since_seq      INTEGER NOT NULL,  -- arrival order at this stage
    superseded_by  TEXT               -- set by a newer execution in SUPERSEDED mode
);

-- Every run of every action: retries add rows.
CREATE TABLE action_executions (
    id                TEXT PRIMARY KEY,
    execution_id      TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
    pipeline          TEXT NOT NULL,
    stage             TEXT NOT NULL,
    action            TEXT NOT NULL,
    run_order         INTEGER NOT NULL,
    attempt           INTEGER NOT NULL,
    status            TEXT NOT NULL,
    summary           TEXT,
    error_code        TEXT,
    simulated         INTEGER NOT NULL DEFAULT 0,
    action_type       TEXT NOT NULL,      -- JSON actionTypeId
    resolved_config   TEXT,               -- JSON: configuration after variable substitution
    input_artifacts   TEXT,               -- JSON [{name, digest}]
    output_artifacts  TEXT,               -- JSON [{name, digest, files, bytes}]
    output_variables  TEXT,               -- JSON object
    external_url      TEXT,
    token             TEXT,               -- manual approvals: the token an approver must give
    approval_status   TEXT,               -- 'Approved' | 'Rejected' once decided
    approval_summary  TEXT,
    approved_by       TEXT,
    decided_ms        INTEGER,
    expires_ms        INTEGER,
    started_ms        INTEGER NOT NULL,
    updated_ms        INTEGER NOT NULL,
    ended_ms          INTEGER
);
CREATE INDEX action_executions_by_execution ON action_executions (execution_id, started_ms);
CREATE INDEX action_executions_by_pipeline ON action_executions (pipeline, started_ms);

-- Lines of an action execution's or a rule execution's output. No foreign key, since either
-- can own lines; gc removes lines whose owner is gone.
CREATE TABLE logs (
    action_execution_id  TEXT NOT NULL,
    seq                  INTEGER NOT NULL,
    time_ms              INTEGER NOT NULL,
    stream               TEXT NOT NULL,   -- 'stdout' | 'stderr' | 'pipewright'
    line                 TEXT NOT NULL,
    PRIMARY KEY (action_execution_id, seq)
);

-- Every evaluation of a stage-condition rule.
CREATE TABLE rule_executions (
    id               TEXT PRIMARY KEY,
    execution_id     TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
    pipeline         TEXT NOT NULL,
    stage            TEXT NOT NULL,
    condition_type   TEXT NOT NULL,     -- BEFORE_ENTRY | ON_SUCCESS | ON_FAILURE
    condition_index  INTEGER NOT NULL,
    rule             TEXT NOT NULL,
    status           TEXT NOT NULL,     -- InProgress | Succeeded | Failed | Abandoned
    summary          TEXT,
    simulated        INTEGER NOT NULL DEFAULT 0,
    started_ms       INTEGER NOT NULL,
    ended_ms         INTEGER
);
CREATE INDEX rule_executions_by_execution ON rule_executions (execution_id, started_ms);

-- Source revisions an execution runs (artifactRevisions in GetPipelineExecution).
CREATE TABLE execution_revisions (
    execution_id  TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
    action        TEXT NOT NULL,
    artifact      TEXT NOT NULL,
    revision_id   TEXT NOT NULL,
    summary       TEXT,
    url           TEXT,
    created_ms    INTEGER NOT NULL,
    PRIMARY KEY (execution_id, artifact)
);

-- Artifacts an execution produced; gc keeps what kept executions reference.
CREATE TABLE execution_artifacts (
    execution_id  TEXT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    digest        TEXT NOT NULL,
    files         INTEGER NOT NULL,
    bytes         INTEGER NOT NULL,
    PRIMARY KEY (execution_id, name)
);

-- EventBridge-shaped state changes, in the order they happened.
CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms       INTEGER NOT NULL,
    detail_type   TEXT NOT NULL,
    pipeline      TEXT NOT NULL,
    execution_id  TEXT,
    body          TEXT NOT NULL
);
CREATE INDEX events_by_execution ON events (execution_id, seq);

-- CloudTrail-like record of every change made through the API.
CREATE TABLE audit (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ms     INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    operation   TEXT NOT NULL,
    pipeline    TEXT,
    parameters  TEXT NOT NULL,
    outcome     TEXT NOT NULL,   -- 'ok' or an error code
    message     TEXT
);
CREATE INDEX audit_by_pipeline ON audit (pipeline, seq);

CREATE TABLE counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);
