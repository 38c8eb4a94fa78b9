-- Where an action execution's commands ran, as every view shows it: `this machine`, or
-- `image NAME (podman)` for a container build. NULL for actions that run no commands and for
-- rows written before this column.
ALTER TABLE action_executions ADD COLUMN ran_on TEXT;
