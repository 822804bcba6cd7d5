//! IAM: the user's MFA devices and access keys.

use super::client::{self, Call};
use super::{AccessKey, AwsError, Place, Service, Signer};
use crate::credentials::Checked;
use crate::credentials::{LongTermKeys, SessionCredentials};
use crate::secret::Secret;

const HOST: &str = "iam.amazonaws.com";

fn run<T, E>(
    place: &Place,
    future: impl std::future::Future<
        Output = Result<
            T,
            aws_sdk_iam::error::SdkError<E, aws_sdk_iam::config::http::HttpResponse>,
        >,
    >,
) -> Result<T, AwsError>
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let endpoint = client::shown(place, HOST);
    client::runtime(Service::Iam, &endpoint)?
        .block_on(future)
        .map_err(|e| client::classify(e, &Call::Other(Service::Iam), &endpoint))
}

pub(super) fn mfa_devices(
    place: &Place,
    keys: &LongTermKeys,
    user: &str,
) -> Result<Vec<String>, AwsError> {
    let iam = client::iam(place, Signer::Keys(keys));
    let output = run(place, iam.list_mfa_devices().user_name(user).send())?;
    Ok(output
        .mfa_devices
        .into_iter()
        .map(|d| d.serial_number)
        .collect())
}

pub(super) fn access_keys(
    place: &Place,
    signer: Signer<'_>,
    user: &str,
) -> Result<Vec<AccessKey>, AwsError> {
    let iam = client::iam(place, signer);
    let output = run(place, iam.list_access_keys().user_name(user).send())?;
    Ok(output
        .access_key_metadata
        .into_iter()
        .filter_map(|k| {
            Some(AccessKey {
                id: k.access_key_id?,
                active: k
                    .status
                    .is_none_or(|s| s == aws_sdk_iam::types::StatusType::Active),
            })
        })
        .collect())
}

pub(super) fn create_access_key(
    place: &Place,
    session: &SessionCredentials,
    user: &str,
) -> Result<LongTermKeys, AwsError> {
    let iam = client::iam(place, Signer::Session(session));
    let output = run(place, iam.create_access_key().user_name(user).send())?;
    let key = output.access_key.ok_or_else(|| AwsError::Refused {
        service: Service::Iam,
        code: "BadResponse".into(),
        message: "no key in CreateAccessKey's answer".into(),
    })?;
    let keys = LongTermKeys {
        access_key_id: key.access_key_id,
        secret_access_key: Secret::new(key.secret_access_key),
        rotated_from: None,
    };
    keys.check().map_err(|what| AwsError::Refused {
        service: Service::Iam,
        code: "BadResponse".into(),
        message: format!("IAM returned a malformed {what}"),
    })?;
    Ok(keys)
}

pub(super) fn delete_access_key(
    place: &Place,
    session: &SessionCredentials,
    user: &str,
    id: &str,
) -> Result<(), AwsError> {
    let iam = client::iam(place, Signer::Session(session));
    run(
        place,
        iam.delete_access_key()
            .user_name(user)
            .access_key_id(id)
            .send(),
    )
    .map(drop)
}
