-- The builds of a batch build (a CodeBuild action with BatchEnabled and a buildspec `batch:`),
-- each under its action execution. A build's id owns its log lines, as an action execution's do.
CREATE TABLE batch_builds (
    id                  TEXT PRIMARY KEY,
    action_execution_id TEXT NOT NULL,
    seq                 INTEGER NOT NULL,
    identifier          TEXT NOT NULL,
    status              TEXT NOT NULL,
    summary             TEXT,
    ran_on              TEXT,
    started_ms          INTEGER,
    ended_ms            INTEGER
);
CREATE INDEX batch_builds_by_action ON batch_builds (action_execution_id, seq);
