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

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// TOTP time step.
const STEP: i64 = 30;

pub struct UsedCodes {
    dir: PathBuf,
}

impl UsedCodes {
    pub fn new(dir: &Path) -> UsedCodes {
        UsedCodes {
            dir: dir.to_path_buf(),
        }
    }

    /// `Some(seconds until the next code)` if `code` was accepted for `serial` recently.
    pub fn wait_for_next(&self, serial: &str, code: &str, now: DateTime<Utc>) -> Option<i64> {
        let record = std::fs::read_to_string(self.path(serial)).ok()?;
        let (digest, until) = record.trim().split_once(' ')?;
        let until: i64 = until.parse().ok()?;
        let now = now.timestamp();
        (digest == fingerprint(serial, code) && now < until).then(|| STEP - now.rem_euclid(STEP))
    }

    /// Notes that `code` was accepted for `serial` at `now`.
    pub fn remember(&self, serial: &str, code: &str, now: DateTime<Utc>) {
        let now = now.timestamp();
        // The rest of this step, plus one step of the clock drift AWS allows.
        let until = now - now.rem_euclid(STEP) + 2 * STEP;
        let record = format!("{} {until}\n", fingerprint(serial, code));
        let _ = crate::lock::write_private(&self.path(serial), record.as_bytes());
    }

    fn path(&self, serial: &str) -> PathBuf {
        let digest = Sha256::digest(serial.as_bytes());
        let name: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        self.dir.join(format!("{name}.used"))
    }
}

fn fingerprint(serial: &str, code: &str) -> String {
    let digest = Sha256::digest(format!("{serial}\0{code}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_refused_until_its_window_has_passed() {
        let dir = tempfile::tempdir().unwrap();
        let used = UsedCodes::new(dir.path());
        let t0 = DateTime::parse_from_rfc3339("2026-11-21T12:00:10Z")
            .unwrap()
            .with_timezone(&Utc);
        used.remember("arn:mfa/a", "123456", t0);
        assert_eq!(used.wait_for_next("arn:mfa/a", "123456", t0), Some(20));
        assert_eq!(used.wait_for_next("arn:mfa/a", "654321", t0), None);
        assert_eq!(used.wait_for_next("arn:mfa/b", "123456", t0), None);
        let later = t0 + chrono::Duration::seconds(50);
        assert_eq!(used.wait_for_next("arn:mfa/a", "123456", later), None);
        let record = std::fs::read_to_string(used.path("arn:mfa/a")).unwrap();
        assert!(!record.contains("123456"), "only a hash is kept");
    }
}
