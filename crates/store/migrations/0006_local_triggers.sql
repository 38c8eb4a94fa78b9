-- The source revisions an execution runs with instead of its sources' branch heads, as JSON
-- {"SourceActionName": {"revision": "commit", "branch": "release/1.0"}}: StartPipelineExecution's
-- sourceRevisions, or the commit (and branch) a local trigger saw. Kept so a retry reads the same
-- commit. NULL: the sources as mapped.
ALTER TABLE executions ADD COLUMN source_revisions TEXT;

-- What the local trigger watchers (`pipewright watch`, the app) have seen of each watched
-- source's repository: every branch and tag with its commit. A watcher claims a change by
-- moving its row from the commit it saw to the new one in one statement, so two watchers of one
-- data directory never both start an execution for it. A row with the empty ref marks the
-- source as watched, with the repository it was watched in as its commit_id: a source whose
-- repository changes is looked at afresh, and an empty repository's first commit is a change.
CREATE TABLE trigger_refs (
    pipeline  TEXT NOT NULL,
    action    TEXT NOT NULL,
    ref       TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    PRIMARY KEY (pipeline, action, ref)
);
