-- Test and coverage reports a build made (its buildspec's `reports:`), one per report group, as
-- JSON (the model's `reports::Report`). Kept with the action execution: gc removes them with it.
CREATE TABLE reports (
    action_execution_id TEXT NOT NULL,
    name                TEXT NOT NULL,
    report              TEXT NOT NULL,
    PRIMARY KEY (action_execution_id, name)
);
