//! Where a profile's sign-in goes: the base URL of the authorize page and the token
//! endpoint.
//!
//! As the SDKs choose a service's endpoint: `AWS_ENDPOINT_URL_SIGNIN`, else
//! `AWS_ENDPOINT_URL` (both ignored under `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`),
//! else the `signin` service's endpoint rules for the region
//! (`https://REGION.signin.aws.amazon.com` and the other partitions).
//!
//! Invariant: a URL from the environment receives a refresh token and a code, so it
//! must pass the rule of [`crate::aws::check_signin`] (plain http only to a loopback
//! address; https only to a partition's sign-in host or the one the profile names with
//! `aws_mfa_proc_signin_endpoint`). One that does not is an error, never a fallback.

use crate::aws::{AwsError, Place, check_signin, signin_base_url};
use crate::system::Environment;

/// The endpoint variables, most specific first.
const VARIABLES: [&str; 2] = ["AWS_ENDPOINT_URL_SIGNIN", "AWS_ENDPOINT_URL"];

#[derive(Debug, thiserror::Error)]
pub(crate) enum PlaceError {
    #[error(
        "`{variable}` points the sign-in of profile `{profile}` at {url}, which may not receive a sign-in token: {why}. Unset `{variable}`, or name the host with `aws_mfa_proc_signin_endpoint` in the profile"
    )]
    Untrusted {
        variable: &'static str,
        profile: String,
        url: String,
        why: String,
    },
    #[error("{0}")]
    Rules(AwsError),
}

/// The sign-in place (region and base URL) of `profile` in `region`; `named` is the
/// profile's `aws_mfa_proc_signin_endpoint`, if it sets one.
pub(crate) fn place(
    env: &dyn Environment,
    profile: &str,
    region: &str,
    named: Option<&str>,
) -> Result<Place, PlaceError> {
    let ignored = env
        .var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let from_env = VARIABLES
        .iter()
        .filter(|_| !ignored)
        .find_map(|name| env.var(name).map(|url| (*name, url)));
    let endpoint = match (from_env, named) {
        (Some((variable, url)), _) => {
            check_signin(&url, named).map_err(|why| PlaceError::Untrusted {
                variable,
                profile: profile.to_string(),
                url: crate::error::clip(&url.replace(|c: char| c.is_control(), "?"), 200),
                why,
            })?;
            url
        }
        (None, Some(named)) => named.to_string(),
        (None, None) => signin_base_url(region).map_err(PlaceError::Rules)?,
    };
    Ok(Place {
        region: region.to_string(),
        endpoint: Some(endpoint.trim_end_matches('/').to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::system::FakeEnv;

    #[test]
    fn the_endpoint_comes_from_the_variables_the_sdks_read_else_the_service_rules() {
        let named = Some("https://signin.example.internal");
        type Variables<'a> = &'a [(&'a str, &'a str)];
        // (variables, what the profile names, the endpoint, or the variable refused)
        let cases: &[(Variables, Option<&str>, Result<&str, &str>)] = &[
            (&[], None, Ok("https://eu-west-1.signin.aws.amazon.com")),
            (
                &[("AWS_ENDPOINT_URL_SIGNIN", "http://127.0.0.1:4000/")],
                None,
                Ok("http://127.0.0.1:4000"),
            ),
            (
                &[("AWS_ENDPOINT_URL", "http://127.0.0.1:4001")],
                None,
                Ok("http://127.0.0.1:4001"),
            ),
            (
                &[
                    ("AWS_ENDPOINT_URL_SIGNIN", "http://127.0.0.1:4000"),
                    ("AWS_ENDPOINT_URL", "http://127.0.0.1:4001"),
                ],
                None,
                Ok("http://127.0.0.1:4000"),
            ),
            (
                &[
                    ("AWS_ENDPOINT_URL_SIGNIN", "http://127.0.0.1:4000"),
                    ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
                ],
                None,
                Ok("https://eu-west-1.signin.aws.amazon.com"),
            ),
            (&[], named, Ok("https://signin.example.internal")),
            (
                &[("AWS_ENDPOINT_URL_SIGNIN", "https://signin.example.internal")],
                named,
                Ok("https://signin.example.internal"),
            ),
            // Plain http elsewhere than loopback, or a host nobody named: refused.
            (
                &[("AWS_ENDPOINT_URL_SIGNIN", "http://10.0.0.1:4000")],
                None,
                Err("AWS_ENDPOINT_URL_SIGNIN"),
            ),
            (
                &[("AWS_ENDPOINT_URL", "http://signin.aws.amazon.com")],
                None,
                Err("AWS_ENDPOINT_URL"),
            ),
            (
                &[("AWS_ENDPOINT_URL_SIGNIN", "https://evil.example.com")],
                named,
                Err("AWS_ENDPOINT_URL_SIGNIN"),
            ),
            (
                &[("AWS_ENDPOINT_URL_SIGNIN", "http://127.0.0.1:1/\nx")],
                None,
                Err("AWS_ENDPOINT_URL_SIGNIN"),
            ),
        ];
        for (vars, named, want) in cases {
            let env = vars
                .iter()
                .fold(FakeEnv::default(), |env, (k, v)| env.with(k, *v));
            let got = place(&env, "signin", "eu-west-1", *named);
            match (got, want) {
                (Ok(place), Ok(url)) => {
                    assert_eq!(place.endpoint.as_deref(), Some(*url), "{vars:?}");
                    assert_eq!(place.region, "eu-west-1");
                }
                (Err(e), Err(variable)) => {
                    let message = e.to_string();
                    assert!(
                        message.contains(&format!("Unset `{variable}`")),
                        "{message}"
                    );
                    assert!(message.contains("profile `signin`"), "{message}");
                    assert!(!message.contains('\n'), "{message}");
                }
                (got, want) => panic!("{vars:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}
