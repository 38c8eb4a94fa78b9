//! Who may enter a stage: the execution-mode rules, without IO. The driver reads the stage's
//! occupants and waiters inside a write transaction, asks `decide`, and writes the answer in the
//! same transaction, so two processes never both enter a locked stage.

use pipewright_model::ExecutionMode;

/// An execution waiting at a stage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Waiter {
    pub execution_id: String,
    /// Start order of the execution: higher is newer.
    pub execution_seq: i64,
    /// Arrival order at this stage: lower arrived first.
    pub since_seq: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entry {
    Enter,
    Wait,
    Superseded { by: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub entry: Entry,
    /// Older waiters this execution replaces (SUPERSEDED mode); their own engines settle them.
    pub supersede: Vec<String>,
}

/// Decides for `me`, which is among `waiters` (every execution waiting at the stage).
/// `occupied` says whether another execution is inside the stage now.
pub fn decide(
    mode: &ExecutionMode,
    transition_enabled: bool,
    occupied: bool,
    waiters: &[Waiter],
    me: &str,
) -> Decision {
    let wait = Decision {
        entry: Entry::Wait,
        supersede: Vec::new(),
    };
    match mode {
        ExecutionMode::Parallel => {
            // PARALLEL executions are independent: only a disabled transition holds them back.
            Decision {
                entry: if transition_enabled {
                    Entry::Enter
                } else {
                    Entry::Wait
                },
                supersede: Vec::new(),
            }
        }
        ExecutionMode::Queued => {
            let first = waiters
                .iter()
                .min_by_key(|w| w.since_seq)
                .map(|w| w.execution_id.as_str());
            if transition_enabled && !occupied && first == Some(me) {
                Decision {
                    entry: Entry::Enter,
                    supersede: Vec::new(),
                }
            } else {
                wait
            }
        }
        // SUPERSEDED, and any spelling validation already reported: the newest waiter survives.
        _ => {
            let Some(newest) = waiters.iter().max_by_key(|w| w.execution_seq) else {
                return wait;
            };
            if newest.execution_id != me {
                return Decision {
                    entry: Entry::Superseded {
                        by: newest.execution_id.clone(),
                    },
                    supersede: Vec::new(),
                };
            }
            let supersede = waiters
                .iter()
                .filter(|w| w.execution_id != me)
                .map(|w| w.execution_id.clone())
                .collect();
            let entry = if transition_enabled && !occupied {
                Entry::Enter
            } else {
                Entry::Wait
            };
            Decision { entry, supersede }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(id: &str, execution_seq: i64, since_seq: i64) -> Waiter {
        Waiter {
            execution_id: id.into(),
            execution_seq,
            since_seq,
        }
    }

    #[test]
    fn superseded_mode_newest_waiter_replaces_older_ones() {
        let waiters = [w("old", 1, 1), w("new", 2, 2)];
        let d = decide(&ExecutionMode::Superseded, true, true, &waiters, "new");
        assert_eq!(
            d,
            Decision {
                entry: Entry::Wait,
                supersede: vec!["old".into()]
            }
        );
        let d = decide(&ExecutionMode::Superseded, true, true, &waiters, "old");
        assert_eq!(d.entry, Entry::Superseded { by: "new".into() });
    }

    #[test]
    fn superseded_mode_enters_a_free_stage() {
        let d = decide(
            &ExecutionMode::Superseded,
            true,
            false,
            &[w("a", 1, 1)],
            "a",
        );
        assert_eq!(d.entry, Entry::Enter);
    }

    #[test]
    fn a_disabled_transition_holds_every_mode() {
        for mode in [
            ExecutionMode::Superseded,
            ExecutionMode::Queued,
            ExecutionMode::Parallel,
        ] {
            assert_eq!(
                decide(&mode, false, false, &[w("a", 1, 1)], "a").entry,
                Entry::Wait,
                "{mode}"
            );
        }
    }

    #[test]
    fn queued_mode_enters_in_arrival_order_and_supersedes_nothing() {
        let waiters = [w("second", 1, 5), w("first", 2, 4)];
        let d = decide(&ExecutionMode::Queued, true, false, &waiters, "second");
        assert_eq!(
            d,
            Decision {
                entry: Entry::Wait,
                supersede: vec![]
            }
        );
        assert_eq!(
            decide(&ExecutionMode::Queued, true, false, &waiters, "first").entry,
            Entry::Enter
        );
        assert_eq!(
            decide(&ExecutionMode::Queued, true, true, &waiters, "first").entry,
            Entry::Wait
        );
    }

    #[test]
    fn parallel_mode_ignores_occupants() {
        assert_eq!(
            decide(
                &ExecutionMode::Parallel,
                true,
                true,
                &[w("a", 1, 1), w("b", 2, 2)],
                "a"
            )
            .entry,
            Entry::Enter
        );
    }
}
