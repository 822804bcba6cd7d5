//! The Sign-In service's refusals, as one-line messages that name the fix.
//!
//! The codes come in an `AccessDeniedException`'s `error` field (the `signin` model's
//! `OAuth2ErrorCode`); the CLI maps them in `LoginCredentialFetcher.refresh_credentials`
//! (`TOKEN_EXPIRED`, `USER_CREDENTIALS_CHANGED`, `INSUFFICIENT_PERMISSIONS`) and
//! `_exchange_auth_code_for_access_token` (`AUTHCODE_EXPIRED`). `INSUFFICIENT_PERMISSIONS`
//! is fixed with the AWS managed policy `SignInLocalDevelopmentAccess`.

/// Why the service refused a profile's sign-in or refresh.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error(
        "the sign-in session of profile `{0}` has ended (it lasts as long as the console session, at most 12 hours): run `aws-mfa-proc login {0}`"
    )]
    SessionEnded(String),
    #[error(
        "the sign-in session of profile `{0}` ended because the user's password or credentials changed: run `aws-mfa-proc login {0}`"
    )]
    CredentialsChanged(String),
    #[error(
        "the sign-in for profile `{0}` was not finished in time and its one-time code expired: run `aws-mfa-proc login {0}` again"
    )]
    CodeExpired(String),
    #[error(
        "the user behind profile `{0}` may not sign in for local development: attach the AWS managed policy `SignInLocalDevelopmentAccess` to it, then run `aws-mfa-proc login {0}`"
    )]
    NotAllowed(String),
    #[error("AWS Sign-In refused profile `{profile}` ({code}): run `aws-mfa-proc login {profile}`")]
    Other { profile: String, code: String },
}

impl Refusal {
    /// The refusal for `AccessDeniedException` with `error` = `code`, for `profile`.
    /// An unknown code is kept (at most 40 printable characters) to be shown.
    pub(crate) fn from_code(profile: &str, code: &str) -> Refusal {
        let profile = profile.to_string();
        match code {
            "TOKEN_EXPIRED" => Refusal::SessionEnded(profile),
            "USER_CREDENTIALS_CHANGED" => Refusal::CredentialsChanged(profile),
            "AUTHCODE_EXPIRED" => Refusal::CodeExpired(profile),
            "INSUFFICIENT_PERMISSIONS" => Refusal::NotAllowed(profile),
            other => Refusal::Other {
                profile,
                code: other
                    .chars()
                    .filter(|c| c.is_ascii_graphic())
                    .take(40)
                    .collect(),
            },
        }
    }

    /// Whether signing in again is the only way on (the refresh token is dead).
    pub(crate) fn ends_the_session(&self) -> bool {
        matches!(
            self,
            Refusal::SessionEnded(_) | Refusal::CredentialsChanged(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_becomes_one_line_naming_the_profile_and_the_fix() {
        // (code, words the message must hold, whether the session is over)
        let cases = [
            ("TOKEN_EXPIRED", "has ended", true),
            (
                "USER_CREDENTIALS_CHANGED",
                "password or credentials changed",
                true,
            ),
            ("AUTHCODE_EXPIRED", "code expired", false),
            (
                "INSUFFICIENT_PERMISSIONS",
                "`SignInLocalDevelopmentAccess`",
                false,
            ),
            ("INVALID_REQUEST", "(INVALID_REQUEST)", false),
        ];
        for (code, words, ends) in cases {
            let refusal = Refusal::from_code("signin", code);
            let message = refusal.to_string();
            assert!(message.contains(words), "{code}: {message}");
            assert!(message.contains("profile `signin`"), "{code}: {message}");
            assert!(
                message.contains("run `aws-mfa-proc login signin`"),
                "{code}: {message}"
            );
            assert!(!message.contains('\n'), "{code}: {message}");
            assert_eq!(refusal.ends_the_session(), ends, "{code}");
        }
    }

    #[test]
    fn an_unknown_code_is_shown_short_and_printable() {
        let message =
            Refusal::from_code("p", &format!("X\n\x1b[31m{}", "Y".repeat(100))).to_string();
        assert!(
            !message.contains('\n') && !message.contains('\x1b'),
            "{message}"
        );
        assert!(message.len() < 160, "{message}");
    }
}
