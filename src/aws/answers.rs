//! The values AWS answers with, checked before anything stores, writes or shows them.
//!
//! An answer comes from whatever `AWS_ENDPOINT_URL`, a proxy or a DNS entry points at,
//! so it is data from outside: a serial number could carry a newline and a line of
//! config after it, an ARN a terminal escape sequence.
//!
//! Invariant: [`super::RealAws`] hands on no ARN, MFA serial or access key ID that
//! failed these checks, which are the ones the config's own values must pass (an MFA
//! serial is checked as `mfa_serial` is); a failure is [`AwsError::Malformed`], which
//! quotes the value escaped and cut short.

use super::{AwsError, Service};

/// The longest ARN IAM and STS give.
const MAX_ARN: usize = 2048;

/// An ARN (GetCallerIdentity): `arn:` and then only the characters IAM allows in
/// paths, names and session names.
pub(crate) fn arn(service: Service, value: String) -> Result<String, AwsError> {
    let fine = value.starts_with("arn:")
        && value.len() <= MAX_ARN
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-:/".contains(c));
    checked(service, "ARN", value, fine)
}

/// The serial numbers of MFA devices (ListMFADevices), as `mfa_serial` must be.
pub(crate) fn mfa_serials(values: Vec<String>) -> Result<Vec<String>, AwsError> {
    values
        .into_iter()
        .map(|value| {
            let fine = crate::config::check_mfa_serial(&value).is_ok();
            checked(Service::Iam, "MFA device serial number", value, fine)
        })
        .collect()
}

/// An access key ID (ListAccessKeys; CreateAccessKey's keys are checked whole).
pub(crate) fn access_key_id(value: String) -> Result<String, AwsError> {
    let fine = crate::credentials::is_access_key_id(&value);
    checked(Service::Iam, "access key ID", value, fine)
}

fn checked(
    service: Service,
    what: &'static str,
    value: String,
    fine: bool,
) -> Result<String, AwsError> {
    if fine {
        Ok(value)
    } else {
        Err(AwsError::Malformed {
            service,
            what,
            value: crate::error::one_line(&value, 80),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_that_could_write_config_or_drive_a_terminal_are_refused() {
        let user = "arn:aws:iam::111111111111:user/team/alice";
        let role = "arn:aws:sts::111111111111:assumed-role/Admin/alice@example.com";
        for good in [user, role] {
            assert_eq!(arn(Service::Sts, good.into()).unwrap(), good);
        }
        for bad in [
            format!("{user}\nmfa_process = touch /tmp/pwned"),
            format!("{user}\u{1b}]0;title\u{7}"),
            format!("{user} and more"),
            "111111111111".into(),
            format!("arn:{}", "a".repeat(MAX_ARN)),
        ] {
            let error = arn(Service::Sts, bad.clone()).unwrap_err().to_string();
            assert!(error.contains("malformed ARN"), "{error}");
            assert!(!error.contains(['\n', '\u{1b}', '\u{7}']), "{error:?}");
        }
        let serial = "arn:aws:iam::111111111111:mfa/alice";
        assert_eq!(mfa_serials(vec![serial.into()]).unwrap(), [serial]);
        let planted = format!("{serial}\nmfa_process = touch /tmp/pwned");
        let error = mfa_serials(vec![serial.into(), planted]).unwrap_err();
        assert!(error.to_string().contains(r"alice\nmfa_process"), "{error}");
        assert!(access_key_id("AKIAIOSFODNN7EXAMPLE".into()).is_ok());
        assert!(access_key_id("AKIA\u{1b}[2J0000000000".into()).is_err());
    }
}
