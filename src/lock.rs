//! One refresh at a time per session identity, across processes.
//!
//! Invariants:
//! - the lock is an OS file lock (`flock`/`LockFileEx`) on an empty file in the private
//!   [`RuntimeDir`]; the kernel drops it when its holder dies, however it dies, so a
//!   killed holder never leaves a stale lock behind;
//! - a waiter gives up at its deadline with an error, never hangs; it asks `give_up`
//!   between polls and once more when it takes the lock, so a cancelled prompt ends
//!   every waiter at once, including the one that takes the lock the holder let go.

use std::fs::File;
use std::time::Duration;

use crate::runtime::{RuntimeDir, file_name};
use crate::system::Clock;

/// How long a caller waits for another one's prompt: under the Go SDK's 60 s kill.
pub(crate) const WAIT: Duration = Duration::from_secs(45);
const POLL: Duration = Duration::from_millis(25);

#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    #[error("cannot use the lock file {path}: {detail}. Fix: {fix}")]
    File {
        path: String,
        detail: String,
        fix: &'static str,
    },
    #[error("another aws-mfa-proc has been asking for the MFA code for {} s. Answer it (or stop it), then retry", .0.as_secs())]
    Timeout(Duration),
}

/// Held while this process refreshes an identity; released on drop or on death.
pub(crate) struct Guard {
    _file: File,
}

/// Takes the lock for `identity`, waiting up to `wait` (on `clock`) for another holder.
/// Between polls, `give_up` may end the wait with its own error.
pub(crate) fn acquire<E: From<LockError>>(
    dir: &RuntimeDir,
    identity: &str,
    wait: Duration,
    clock: &dyn Clock,
    mut give_up: impl FnMut() -> Result<(), E>,
) -> Result<Guard, E> {
    let name = file_name(identity, "lock");
    let file = dir.open_file(&name).map_err(|e| LockError::File {
        path: dir.file_path(&name).display().to_string(),
        detail: e.to_string(),
        fix: "remove the file and retry",
    })?;
    let deadline = clock.now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
    let mut waited = false;
    loop {
        match file.try_lock() {
            Ok(()) => {
                // The holder we waited for may have just given up (a cancelled prompt).
                give_up()?;
                return Ok(Guard { _file: file });
            }
            Err(std::fs::TryLockError::WouldBlock) if clock.now() < deadline => {
                if !waited {
                    crate::debug!(
                        "another aws-mfa-proc is refreshing; waiting up to {} s",
                        wait.as_secs()
                    );
                    waited = true;
                }
                give_up()?;
                clock.sleep(POLL)
            }
            Err(std::fs::TryLockError::WouldBlock) => return Err(LockError::Timeout(wait).into()),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(LockError::File {
                    path: dir.file_path(&name).display().to_string(),
                    detail: e.to_string(),
                    fix: "check that the file system supports locks",
                }
                .into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::{FakeEnv, FixedClock};

    fn dir(tmp: &tempfile::TempDir) -> RuntimeDir {
        RuntimeDir::open(&FakeEnv::default().with("HOME", tmp.path().to_str().unwrap())).unwrap()
    }

    fn take(dir: &RuntimeDir, id: &str, clock: &FixedClock) -> Result<Guard, LockError> {
        acquire(dir, id, WAIT, clock, || Ok::<(), LockError>(()))
    }

    #[test]
    fn a_second_holder_polls_until_its_deadline_and_then_times_out() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = dir(&tmp);
        let clock = FixedClock::new();
        let held = take(&dir, "id", &clock).unwrap();
        let start = clock.now();
        let mut polls = 0;
        let err = acquire(&dir, "id", WAIT, &clock, || {
            polls += 1;
            Ok::<(), LockError>(())
        })
        .err()
        .unwrap();
        assert!(matches!(err, LockError::Timeout(w) if w == WAIT));
        assert_eq!(
            clock.now() - start,
            chrono::Duration::from_std(WAIT).unwrap()
        );
        assert_eq!(
            polls,
            WAIT.as_millis() / POLL.as_millis(),
            "a poll every {POLL:?}"
        );
        drop(held);
        take(&dir, "id", &clock).unwrap();
        // Other identities are independent.
        let _a = take(&dir, "a", &clock).unwrap();
        let _b = take(&dir, "b", &clock).unwrap();
    }

    #[test]
    fn a_waiter_stops_at_the_first_poll_that_tells_it_to_give_up() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = dir(&tmp);
        let clock = FixedClock::new();
        let _held = take(&dir, "id", &clock).unwrap();
        let start = clock.now();
        let mut polls = 0;
        let err = acquire(&dir, "id", WAIT, &clock, || {
            polls += 1;
            if polls == 3 {
                Err(LockError::Timeout(Duration::ZERO))
            } else {
                Ok(())
            }
        })
        .err()
        .unwrap();
        assert!(matches!(err, LockError::Timeout(d) if d.is_zero()));
        assert_eq!(
            clock.now() - start,
            chrono::Duration::from_std(POLL * 2).unwrap()
        );
    }

    #[test]
    fn the_lock_is_asked_to_give_up_once_more_when_it_is_taken() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = dir(&tmp);
        let clock = FixedClock::new();
        let err = acquire(&dir, "id", WAIT, &clock, || {
            Err(LockError::Timeout(Duration::ZERO))
        });
        assert!(
            err.is_err(),
            "a free lock still asks: the holder may just have cancelled"
        );
    }
}
