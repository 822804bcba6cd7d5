//! Keychain item names: stable across builds, because a name is where a cached session
//! is found again after an upgrade.
//!
//! Names (service `aws-mfa-proc`):
//! - `v1:keys:NAME`: long-term keys stored with `add NAME`;
//! - `v1:signin:PROFILE`: the AWS Sign-In session of a `sign-in` profile (refresh token
//!   and DPoP key; keychain only, never copied to the kernel fast tier);
//! - `v1:session:SOURCE:MFA_SERIAL`: the MFA session of one long-term identity and MFA
//!   device, shared by every profile that chains from it;
//! - `v1:role:SOURCE:MFA_SERIAL:ROLE_ARN`: a role assumed with that session, with the
//!   default settings;
//! - `v1:role:SOURCE:MFA_SERIAL:ROLE_ARN:settings-DIGEST`: the same role with other
//!   settings (they make other credentials, so another item).
//!
//! `SOURCE` is [`KeySource::id`] (`keychain/NAME`, `credentials/PROFILE` or
//! `signin/PROFILE`; a sign-in session's `MFA_SERIAL` is `sign-in`).
//!
//! `DIGEST` is the first 12 lower-case hex digits of the SHA-256 of the settings'
//! canonical encoding, the compact JSON array (serde_json: no spaces, only `"`, `\`
//! and control characters escaped)
//!
//! ```text
//! [EXTERNAL_ID, ROLE_SESSION_NAME, SOURCE_IDENTITY, [[TAG_KEY, TAG_VALUE], …],
//!  [TRANSITIVE_TAG_KEY, …], DURATION_SECONDS]
//! ```
//!
//! with `null` for an absent string, tags sorted by key and transitive keys sorted
//! (their order changes nothing at STS). The default settings (no external ID, session
//! name, source identity or tags; [`MAX_ROLE_DURATION`]) have no suffix.
//!
//! Invariants:
//! - a name depends only on this encoding, never on `Debug` output or field order;
//! - builds up to 0.1 named non-default role items from the settings' `Debug` output
//!   ([`legacy_role_item`]); such items are read, and moved to their stable name, by
//!   [`super::Cache`], and revoked with the others (`logout`, `remove`).

use crate::config::{KeySource, MAX_ROLE_DURATION, RoleSettings, Target};
use crate::digest::hex_digest;

/// Item name of the long-term keys stored with `aws-mfa-proc add NAME`.
pub fn keys_item(name: &str) -> String {
    format!("v1:keys:{name}")
}

/// Item name of the AWS Sign-In session (refresh token, DPoP key) of profile `profile`.
pub fn signin_item(profile: &str) -> String {
    format!("v1:signin:{profile}")
}

/// Item name of the MFA session of one long-term identity and MFA device.
pub fn session_item(source: &KeySource, mfa_serial: &str) -> String {
    format!("v1:session:{}:{mfa_serial}", source.id())
}

/// The keychain item that caches what `target` asks for.
pub fn item(target: &Target) -> String {
    match target {
        Target::Session(s) => session_item(&s.keys, &s.mfa_serial),
        Target::Role(r) if is_default(r) => role_base(r),
        Target::Role(r) => format!("{}:settings-{}", role_base(r), short(&canonical(r))),
    }
}

/// Every name `target`'s credentials may be cached under: [`item`], then the name an
/// older build gave them, if another.
pub fn items(target: &Target) -> Vec<String> {
    let mut names = vec![item(target)];
    names.extend(legacy_role_item(target).filter(|old| *old != names[0]));
    names
}

/// The name builds up to 0.1 gave a role item with other than the default settings,
/// from their `Debug` output; kept only to find such items again.
pub fn legacy_role_item(target: &Target) -> Option<String> {
    let Target::Role(r) = target else {
        return None;
    };
    let options = format!(
        "{:?}{:?}{:?}{:?}{:?}{}",
        r.external_id,
        r.session_name,
        r.source_identity,
        r.tags,
        r.transitive_tag_keys,
        r.duration.as_secs()
    );
    (!is_default(r)).then(|| format!("{}:settings-{}", role_base(r), short(&options)))
}

fn role_base(r: &RoleSettings) -> String {
    format!(
        "v1:role:{}:{}:{}",
        r.mfa.keys.id(),
        r.mfa.mfa_serial,
        r.role_arn
    )
}

fn is_default(r: &RoleSettings) -> bool {
    r.external_id.is_none()
        && r.session_name.is_none()
        && r.source_identity.is_none()
        && r.tags.is_empty()
        && r.transitive_tag_keys.is_empty()
        && r.duration == MAX_ROLE_DURATION
}

/// The canonical encoding of `r`'s settings (see the module docs).
fn canonical(r: &RoleSettings) -> String {
    let mut tags: Vec<[&str; 2]> = r.tags.iter().map(|(k, v)| [&**k, &**v]).collect();
    tags.sort();
    let mut transitive: Vec<&str> = r.transitive_tag_keys.iter().map(|k| &**k).collect();
    transitive.sort();
    serde_json::json!([
        r.external_id,
        r.session_name,
        r.source_identity,
        tags,
        transitive,
        r.duration.as_secs()
    ])
    .to_string()
}

/// The first 12 hex digits of the SHA-256 of `text`.
pub fn short(text: &str) -> String {
    hex_digest(text.as_bytes())[..12].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_DURATION, Settings};
    use std::time::Duration;

    fn role(change: impl FnOnce(&mut RoleSettings)) -> Target {
        let mut r = RoleSettings {
            profile: "production".into(),
            role_arn: "arn:aws:iam::222222222222:role/Admin".into(),
            duration: MAX_ROLE_DURATION,
            region: "eu-west-1".into(),
            profile_region: None,
            endpoint: None,
            external_id: None,
            session_name: None,
            source_identity: None,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            mfa: Settings {
                profile: "mfa".into(),
                mfa_serial: "arn:aws:iam::111111111111:mfa/alice".into(),
                region: "eu-west-1".into(),
                profile_region: None,
                duration: DEFAULT_DURATION,
                keys: KeySource::Keychain("mfa".into()),
                endpoint: None,
                iam_endpoint: None,
                codes: Default::default(),
            },
        };
        change(&mut r);
        Target::Role(r)
    }

    const BASE: &str = "v1:role:keychain/mfa:arn:aws:iam::111111111111:mfa/alice:arn:aws:iam::222222222222:role/Admin";

    fn tagged(r: &mut RoleSettings) {
        r.tags = vec![("Team".into(), "ops".into()), ("Env".into(), "prod".into())];
        r.transitive_tag_keys = vec!["Team".into(), "Env".into()];
    }

    /// (what, settings, the suffix builds up to 0.1 wrote, the stable suffix). The
    /// digests were also computed outside Rust (Python's hashlib and json), from the
    /// `Debug` text and from the encoding in the module docs.
    type Case = (
        &'static str,
        fn(&mut RoleSettings),
        &'static str,
        &'static str,
    );

    #[test]
    fn names_written_today_and_by_older_builds_are_pinned() {
        let cases: [Case; 4] = [
            ("default", |_| {}, "", ""),
            (
                "external ID", // ["Ext-1",null,null,[],[],3600]
                |r| r.external_id = Some("Ext-1".into()),
                ":settings-245114917a1d",
                ":settings-a2eef5b052a6",
            ),
            (
                "30 minutes, named session", // [null,"alice",null,[],[],1800]
                |r| {
                    r.duration = Duration::from_secs(1800);
                    r.session_name = Some("alice".into());
                },
                ":settings-7981c0fac74c",
                ":settings-9b43c77a29d5",
            ),
            (
                "tags", // [null,null,null,[["Env","prod"],["Team","ops"]],["Env","Team"],3600]
                tagged,
                ":settings-a44b2399e7d9",
                ":settings-bfea8da834d7",
            ),
        ];
        for (what, change, legacy, stable) in cases {
            let target = role(change);
            assert_eq!(item(&target), format!("{BASE}{stable}"), "{what}");
            let mut expected = vec![format!("{BASE}{stable}")];
            expected.extend((!legacy.is_empty()).then(|| format!("{BASE}{legacy}")));
            assert_eq!(items(&target), expected, "{what}");
        }
    }

    #[test]
    fn the_order_of_tags_changes_nothing_and_any_setting_changes_the_name() {
        let reordered = role(|r| {
            tagged(r);
            r.tags.reverse();
            r.transitive_tag_keys.reverse();
        });
        assert_eq!(item(&reordered), item(&role(tagged)));
        let names: std::collections::BTreeSet<String> = [
            role(|_| {}),
            role(|r| r.external_id = Some("a".into())),
            role(|r| r.session_name = Some("a".into())),
            role(|r| r.source_identity = Some("a".into())),
            role(|r| r.tags = vec![("a".into(), "".into())]),
            role(|r| r.duration = Duration::from_secs(1800)),
        ]
        .iter()
        .map(item)
        .collect();
        assert_eq!(names.len(), 6, "{names:?}");
    }

    #[test]
    fn a_session_and_keys_have_plain_names() {
        let Target::Role(r) = role(|_| {}) else {
            unreachable!()
        };
        assert_eq!(
            item(&Target::Session(r.mfa)),
            "v1:session:keychain/mfa:arn:aws:iam::111111111111:mfa/alice"
        );
        assert_eq!(keys_item("mfa"), "v1:keys:mfa");
    }
}
