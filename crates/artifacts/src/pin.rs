//! Keeping `gc` away from artifacts that are stored but not yet referenced.
//!
//! An action's output is published in the store before its execution's row references it, and
//! `gc` may run in another process meanwhile. So every ingest holds a shared lock (`flock`) on
//! `ROOT/gc.lock`, kept by the [`Pin`] in what it returns until the caller drops it, after
//! recording the reference. `gc` takes the lock exclusively, and only then reads which artifacts
//! are referenced: an artifact on its way from ingest to record is never collected, and nothing
//! waits for executions that merely run or wait for an approval. The kernel drops the locks of a
//! process that dies. (Opening a store does not wait for a `gc`: `gc` leaves its recent handoff
//! probes in `tmp/` alone.)

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::sync::Arc;

use crate::error::Error;

const LOCK_FILE: &str = "gc.lock";

/// A shared hold on the store that keeps `gc` out while it lives. Clones share the hold.
#[derive(Clone, Debug, Default)]
pub struct Pin(
    #[allow(dead_code, reason = "held for its lock, released on drop")] Option<Arc<File>>,
);

/// Pins compare equal: they say nothing about the artifact, only how long it is protected.
impl PartialEq for Pin {
    fn eq(&self, _: &Pin) -> bool {
        true
    }
}

impl Eq for Pin {}

/// The exclusive hold `gc` needs: no ingest runs anywhere while it lives.
#[derive(Debug)]
pub struct GcLock(#[allow(dead_code, reason = "held for its lock, released on drop")] File);

fn open(root: &Path) -> Result<File, Error> {
    let path = root.join(LOCK_FILE);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(Error::io("open", &path))
}

/// Waits while a `gc` runs, then holds the store shared.
pub(crate) fn pin(root: &Path) -> Result<Pin, Error> {
    let file = open(root)?;
    file.lock_shared()
        .map_err(Error::io("lock", &root.join(LOCK_FILE)))?;
    Ok(Pin(Some(Arc::new(file))))
}

/// The exclusive hold, or None while something holds a pin.
pub(crate) fn try_lock_for_gc(root: &Path) -> Result<Option<GcLock>, Error> {
    let file = open(root)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(GcLock(file))),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(Error::io("lock", &root.join(LOCK_FILE))(e)),
    }
}
