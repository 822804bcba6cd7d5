//! STS: MFA sessions (GetSessionToken), roles (AssumeRole), who am I (GetCallerIdentity).

use chrono::{TimeZone, Utc};

use super::client::{self, Call};
use super::{AwsError, Place, Service, Signer};
use crate::config::{RoleSettings, Settings};
use crate::credentials::Checked;
use crate::credentials::{LongTermKeys, SessionCredentials};
use crate::secret::Secret;

/// The role session name AWS shows in CloudTrail and in the assumed-role ARN.
const ROLE_SESSION_NAME: &str = "aws-mfa-proc";
const HOST: &str = "sts.{region}.amazonaws.com";

pub(super) fn get_session_token(
    settings: &Settings,
    keys: &LongTermKeys,
    code: &str,
) -> Result<SessionCredentials, AwsError> {
    let place = Place {
        region: settings.region.clone(),
        endpoint: settings.endpoint.clone(),
    };
    let endpoint = client::shown(&place, HOST);
    crate::debug!(
        "STS GetSessionToken for {} at {endpoint}",
        settings.mfa_serial
    );
    let sts = client::sts(&place, Signer::Keys(keys));
    let call = sts
        .get_session_token()
        .duration_seconds(settings.duration.as_secs() as i32)
        .serial_number(&settings.mfa_serial)
        .token_code(code)
        .send();
    let what = Call::SessionToken {
        mfa_serial: &settings.mfa_serial,
    };
    let output = client::runtime(Service::Sts, &endpoint)?
        .block_on(call)
        .map_err(|e| client::classify(e, &what, &endpoint))?;
    convert(output.credentials, &keys.access_key_id)
}

pub(super) fn assume_role(
    role: &RoleSettings,
    session: &SessionCredentials,
) -> Result<SessionCredentials, AwsError> {
    let place = Place {
        region: role.region.clone(),
        endpoint: role.endpoint.clone(),
    };
    let endpoint = client::shown(&place, HOST);
    crate::debug!("STS AssumeRole {} at {endpoint}", role.role_arn);
    let sts = client::sts(&place, Signer::Session(session));
    let mut call = sts
        .assume_role()
        .role_arn(&role.role_arn)
        .role_session_name(role.session_name.as_deref().unwrap_or(ROLE_SESSION_NAME))
        .duration_seconds(role.duration.as_secs() as i32)
        .set_external_id(role.external_id.clone())
        .set_source_identity(role.source_identity.clone());
    for (key, value) in &role.tags {
        let tag = aws_sdk_sts::types::Tag::builder()
            .key(key)
            .value(value)
            .build()
            .map_err(|e| AwsError::Refused {
                service: Service::Sts,
                code: "BadTag".into(),
                message: e.to_string(),
            })?;
        call = call.tags(tag);
    }
    for key in &role.transitive_tag_keys {
        call = call.transitive_tag_keys(key);
    }
    let what = Call::AssumeRole {
        role_arn: &role.role_arn,
    };
    let output = client::runtime(Service::Sts, &endpoint)?
        .block_on(call.send())
        .map_err(|e| client::classify(e, &what, &endpoint))?;
    convert(output.credentials, &session.source_access_key_id)
}

pub(super) fn caller(place: &Place, signer: Signer<'_>) -> Result<String, AwsError> {
    let endpoint = client::shown(place, HOST);
    let sts = client::sts(place, signer);
    let output = client::runtime(Service::Sts, &endpoint)?
        .block_on(sts.get_caller_identity().send())
        .map_err(|e| client::classify(e, &Call::Other(Service::Sts), &endpoint))?;
    output.arn.ok_or_else(|| AwsError::Refused {
        service: Service::Sts,
        code: "BadResponse".into(),
        message: "no ARN in GetCallerIdentity's answer".into(),
    })
}

fn convert(
    credentials: Option<aws_sdk_sts::types::Credentials>,
    source_access_key_id: &str,
) -> Result<SessionCredentials, AwsError> {
    let bad = |message: &str| AwsError::Refused {
        service: Service::Sts,
        code: "BadResponse".into(),
        message: message.into(),
    };
    let c = credentials.ok_or_else(|| bad("STS returned no credentials"))?;
    let expiration = Utc
        .timestamp_opt(c.expiration.secs(), 0)
        .single()
        .ok_or_else(|| bad("STS returned an impossible expiry"))?;
    let session = SessionCredentials {
        access_key_id: c.access_key_id,
        secret_access_key: Secret::new(c.secret_access_key),
        session_token: Secret::new(c.session_token),
        expiration,
        source_access_key_id: source_access_key_id.to_string(),
    };
    match session.check() {
        Ok(()) => Ok(session),
        Err(what) => Err(bad(&format!("STS returned a malformed {what}"))),
    }
}
