-- The PID namespace an engine runs in (`/proc/self/ns/pid`, e.g. `pid:[4026531836]`). Whether its
-- process still runs can be read in /proc only from the same namespace; an engine in another one
-- (a container sharing the data directory) is judged by its heartbeat. NULL for engines registered
-- before this column: judged by /proc, as they were.
ALTER TABLE engines ADD COLUMN pid_namespace TEXT;
