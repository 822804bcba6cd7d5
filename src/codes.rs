//! Codes already spent, per MFA device, so a code is never sent to STS twice.
//!
//! AWS rejects a code that was used before, and a TOTP code stays on the screen for up
//! to 30 s. After a code is accepted we remember a hash of it (never the code) until the
//! window after the next one has passed, in the private runtime directory. The same code
//! typed again in that time is refused here, with the seconds until the next code,
//! instead of spending an STS call that is bound to fail.
//!
//! Invariant: best effort. A missing or unreadable record means "not used"; failing to
//! write one never fails a refresh.

use chrono::{DateTime, Utc};

use crate::runtime::{RuntimeDir, file_name, hex_digest};

/// TOTP time step.
const STEP: i64 = 30;

pub(crate) struct UsedCodes<'a> {
    dir: &'a RuntimeDir,
}

impl<'a> UsedCodes<'a> {
    pub(crate) fn new(dir: &'a RuntimeDir) -> UsedCodes<'a> {
        UsedCodes { dir }
    }

    /// `Some(seconds until the next code)` if `code` was accepted for `serial` recently.
    pub(crate) fn wait_for_next(
        &self,
        serial: &str,
        code: &str,
        now: DateTime<Utc>,
    ) -> Option<i64> {
        let record = self.dir.read_file(&file_name(serial, "used"))?;
        let record = String::from_utf8(record).ok()?;
        let (digest, until) = record.trim().split_once(' ')?;
        let until: i64 = until.parse().ok()?;
        let now = now.timestamp();
        (digest == fingerprint(serial, code) && now < until).then(|| STEP - now.rem_euclid(STEP))
    }

    /// Notes that `code` was accepted for `serial` at `now`.
    pub(crate) fn remember(&self, serial: &str, code: &str, now: DateTime<Utc>) {
        let now = now.timestamp();
        // The rest of this step, plus one step of the clock drift AWS allows.
        let until = now - now.rem_euclid(STEP) + 2 * STEP;
        let record = format!("{} {until}\n", fingerprint(serial, code));
        let _ = self
            .dir
            .write_file(&file_name(serial, "used"), record.as_bytes());
    }
}

fn fingerprint(serial: &str, code: &str) -> String {
    hex_digest(format!("{serial}\0{code}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::FakeEnv;

    #[test]
    fn a_code_is_refused_until_its_window_has_passed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = RuntimeDir::open(&FakeEnv::default().with("HOME", tmp.path().to_str().unwrap()))
            .unwrap();
        let used = UsedCodes::new(&dir);
        let t0 = DateTime::parse_from_rfc3339("2026-11-21T12:00:10Z")
            .unwrap()
            .with_timezone(&Utc);
        used.remember("arn:mfa/a", "123456", t0);
        assert_eq!(used.wait_for_next("arn:mfa/a", "123456", t0), Some(20));
        assert_eq!(used.wait_for_next("arn:mfa/a", "654321", t0), None);
        assert_eq!(used.wait_for_next("arn:mfa/b", "123456", t0), None);
        let later = t0 + chrono::Duration::seconds(50);
        assert_eq!(used.wait_for_next("arn:mfa/a", "123456", later), None);
        let record = dir.read_file(&file_name("arn:mfa/a", "used")).unwrap();
        assert!(
            !String::from_utf8_lossy(&record).contains("123456"),
            "only a hash is kept"
        );
    }
}
