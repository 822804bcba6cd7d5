//! A cancelled prompt stops everyone who waits for it.
//!
//! When the person cancels a prompt (Escape in a dialog, Ctrl-C at the terminal) or a
//! dialog goes unanswered, the holder of the lock leaves a mark, with the time, in the
//! runtime directory. Every caller waiting for the same MFA session sees it at its
//! next poll and fails at once, instead of opening a dialog of its own in turn. For
//! [`COOLDOWN`] after a cancel, a new caller that would open a dialog fails fast too:
//! a tool that reconnects in a loop (an IDE, k9s) cannot storm the desktop with
//! dialogs. `login` ignores the cooldown; a code accepted by STS clears the mark.
//!
//! Invariant: best effort and private: the mark holds only a time, in a file named by a
//! digest, in the runtime directory.

use chrono::{DateTime, Utc};

use crate::runtime::{RuntimeDir, file_name};

/// How long after a cancel no new dialog opens.
pub(crate) const COOLDOWN: chrono::Duration = chrono::Duration::seconds(60);

/// The cancel mark of one MFA session.
pub(crate) struct Cancels<'a> {
    dir: &'a RuntimeDir,
    name: String,
}

impl<'a> Cancels<'a> {
    /// The mark of the MFA session cached under `session_item`.
    pub(crate) fn new(dir: &'a RuntimeDir, session_item: &str) -> Cancels<'a> {
        Cancels {
            dir,
            name: file_name(session_item, "cancelled"),
        }
    }

    /// Notes a cancel at `now`.
    pub(crate) fn mark(&self, now: DateTime<Utc>) {
        crate::debug!("the prompt was cancelled: every caller waiting for it stops");
        let _ = self
            .dir
            .write_file(&self.name, now.timestamp_millis().to_string().as_bytes());
    }

    pub(crate) fn clear(&self) {
        let _ = self.dir.remove(&self.name);
    }

    /// When the last cancel was, if there is a mark.
    pub(crate) fn last(&self) -> Option<DateTime<Utc>> {
        let text = String::from_utf8(self.dir.read_file(&self.name)?).ok()?;
        DateTime::from_timestamp_millis(text.trim().parse().ok()?)
    }

    /// Seconds since a cancel within the cooldown at `now`, if there was one.
    pub(crate) fn cooling(&self, now: DateTime<Utc>) -> Option<i64> {
        let age = now - self.last()?;
        (age >= chrono::Duration::zero() && age < COOLDOWN).then(|| age.num_seconds())
    }
}
