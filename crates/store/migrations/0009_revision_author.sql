-- Who made a source revision (a git commit's author), for the approver and the monitor. AWS's
-- revisions carry none; a git source run here has one.
ALTER TABLE execution_revisions ADD COLUMN author TEXT;
