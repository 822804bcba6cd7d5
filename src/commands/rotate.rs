//! `rotate [PROFILE]`: a new access key for the IAM user, the old one deleted.
//!
//! The order: with the MFA session (a code is asked if there is none), IAM
//! CreateAccessKey; STS GetCallerIdentity signed with the new key proves it works; the
//! new keys are stored (marked `RotatedFrom` the old key); IAM DeleteAccessKey the old
//! one; the mark is dropped; every session and role made from the old keys is forgotten.
//!
//! Invariants:
//! - only keys in the keychain rotate (keys in a credentials file: `import` first);
//! - no working key is ever lost: the old secret stays stored until the new key has
//!   worked (a new key that never works is deleted again, best effort, and the old one
//!   stays); the new key is stored before the old one is deleted;
//! - a rotation cut short leaves the mark, so the next `rotate` finishes it and `doctor`
//!   reports it; a user with two keys and no mark gets an error naming the other key.

use std::time::Duration;

use super::Ctx;
use super::Error;
use super::add::forget_sessions_of;
use super::setup::user_name;
use crate::aws::{AccessKey, AwsError, NEW_KEY_PATIENCE, Place, Signer};
use crate::cli::Selection;
use crate::config::{KeySource, Settings, Target};
use crate::credentials::LongTermKeys;
use crate::output;
use crate::session::Mode;
use crate::store::Lookup;

pub(crate) fn run(ctx: &mut Ctx<'_>, _: &Selection) -> Result<u8, Error> {
    let target = ctx.target()?;
    let settings = target.mfa().clone();
    let profile = settings.profile.clone();
    let name = match &settings.keys {
        KeySource::Keychain(name) => name.clone(),
        KeySource::SignIn { .. } => {
            return Err(Error::Input(format!(
                "profile `{profile}` signs in with AWS Sign-In and has no access keys to rotate"
            )));
        }
        KeySource::SharedProfile { profile: src, .. } => {
            return Err(Error::Input(format!(
                "profile `{profile}` reads its keys from `{src}` in the credentials file; rotate changes only keys in the keychain. Move them there first: `aws-mfa-proc import --from-profile {src} {profile}`"
            )));
        }
    };
    let keychain_error = |e| Error::Keychain(profile.clone(), e);
    let Lookup::Found(stored) = ctx.cache.keys(&name).map_err(keychain_error)? else {
        return Err(Error::Input(format!(
            "no keys are stored for `{name}`: store them with `aws-mfa-proc add {name}`"
        )));
    };
    let failed =
        |step: &str, e: AwsError| Error::Input(format!("profile `{profile}`: {step}: {e}"));
    let (sts, iam) = places(&settings);
    let user =
        user_of(ctx, &sts, &stored).map_err(|e| failed("cannot tell whose keys these are", e))?;
    let session = ctx
        .credentials(&Target::Session(settings.clone()), Mode::Cached)?
        .credentials;
    let keys = ctx
        .aws
        .access_keys(&iam, Signer::Session(&session), &user)
        .map_err(|e| failed("cannot list the user's access keys", e))?;
    let others: Vec<&AccessKey> = keys
        .iter()
        .filter(|k| k.id != stored.access_key_id)
        .collect();

    let (new, old) = match (others.as_slice(), &stored.rotated_from) {
        // A rotation was cut short after the new key was stored: finish it.
        ([other], Some(old)) if &other.id == old => (stored.clone(), old.clone()),
        ([], Some(_)) => {
            // The old key is already gone: only the mark is left.
            let done = LongTermKeys {
                rotated_from: None,
                ..stored.clone()
            };
            store(ctx, &name, &done).map_err(keychain_error)?;
            output::report(
                ctx.out,
                &format!(
                    "The rotation of `{name}` was already complete: {} is its only key",
                    done.access_key_id
                ),
            );
            return Ok(0);
        }
        ([], None) => {
            let old = stored.access_key_id.clone();
            let mut new = ctx
                .aws
                .create_access_key(&iam, &session, &user)
                .map_err(|e| failed("IAM CreateAccessKey", e))?;
            new.rotated_from = Some(old.clone());
            if let Err(e) = wait_until_it_works(ctx, &sts, &new) {
                let cleanup = match ctx.aws.delete_access_key(
                    &iam,
                    &session,
                    &user,
                    &new.access_key_id,
                ) {
                    Ok(()) => "it was deleted again".to_string(),
                    Err(_) => format!(
                        "delete it: `aws iam delete-access-key --user-name {user} --access-key-id {}`",
                        new.access_key_id
                    ),
                };
                return Err(failed(
                    &format!(
                        "the new key {} never worked ({cleanup}); the old key {old} is still stored and still works. Retry `aws-mfa-proc rotate {profile}` later",
                        new.access_key_id
                    ),
                    e,
                ));
            }
            store(ctx, &name, &new).map_err(|e| {
                Error::Input(format!(
                    "profile `{profile}`: IAM made a new access key ({}) but it could not be stored ({e}); the old key still works and is still stored. Delete the new one: `aws iam delete-access-key --user-name {user} --access-key-id {}`",
                    new.access_key_id, new.access_key_id
                ))
            })?;
            (new, old)
        }
        (others, _) => {
            let ids: Vec<&str> = others.iter().map(|k| k.id.as_str()).collect();
            return Err(Error::Input(format!(
                "profile `{profile}`: IAM user `{user}` already has another access key ({}) besides the stored {}, and IAM allows two; nothing was changed. If nothing uses it, delete it: `aws iam delete-access-key --user-name {user} --access-key-id {}`, then run rotate again",
                ids.join(", "),
                stored.access_key_id,
                ids[0]
            )));
        }
    };

    if new.access_key_id == stored.access_key_id {
        // Resuming: the stored new key worked once; make sure it still does.
        wait_until_it_works(ctx, &sts, &new).map_err(|e| {
            failed(
                &format!(
                    "the new key {} is stored but does not work; the old key {old} was kept. Run `aws-mfa-proc rotate {profile}` again in a minute to finish",
                    new.access_key_id
                ),
                e,
            )
        })?;
    }
    ctx.aws
        .delete_access_key(&iam, &session, &user, &old)
        .map_err(|e| {
            failed(
                &format!(
                    "the new key {} is stored and works, but the old key {old} could not be deleted; run `aws-mfa-proc rotate {profile}` again to finish",
                    new.access_key_id
                ),
                e,
            )
        })?;
    let done = LongTermKeys {
        rotated_from: None,
        ..new
    };
    store(ctx, &name, &done).map_err(keychain_error)?;
    forget_sessions_of(ctx, &name).map_err(keychain_error)?;
    output::report(
        ctx.out,
        &format!(
            "Rotated the access key of `{name}` (IAM user `{user}`): {} replaces {old}, which is deleted. The next call asks for a new MFA code",
            done.access_key_id
        ),
    );
    Ok(0)
}

/// Where STS and IAM are reached for the profile.
fn places(settings: &Settings) -> (Place, Place) {
    let place = |endpoint: &Option<String>| Place {
        region: settings.region.clone(),
        endpoint: endpoint.clone(),
    };
    (place(&settings.endpoint), place(&settings.iam_endpoint))
}

/// The IAM user name the keys belong to.
fn user_of(ctx: &Ctx<'_>, sts: &Place, keys: &LongTermKeys) -> Result<String, AwsError> {
    let arn = ctx.aws.caller(sts, Signer::Keys(keys))?;
    user_name(&arn)
        .map(str::to_string)
        .ok_or_else(|| AwsError::Refused {
            service: crate::aws::Service::Sts,
            code: "NotAnIamUser".into(),
            message: format!(
                "the keys belong to {arn}, not to an IAM user; only an IAM user's keys rotate"
            ),
        })
}

fn store(ctx: &Ctx<'_>, name: &str, keys: &LongTermKeys) -> Result<(), crate::store::StoreError> {
    ctx.cache.store_keys(name, keys)
}

/// IAM is eventually consistent: a new key can take seconds to work.
fn wait_until_it_works(ctx: &Ctx<'_>, sts: &Place, keys: &LongTermKeys) -> Result<(), AwsError> {
    let deadline = ctx.clock.now() + chrono::Duration::from_std(NEW_KEY_PATIENCE).expect("seconds");
    loop {
        match ctx.aws.caller(sts, Signer::Keys(keys)) {
            Ok(_) => return Ok(()),
            Err(AwsError::InvalidKeys(_)) if ctx.clock.now() < deadline => {
                ctx.clock.sleep(Duration::from_secs(2))
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::twin::MemoryAws;
    use crate::cache::Cache;
    use crate::kernel::MemoryKernel;
    use crate::prompt::Scripted;
    use crate::runtime::LazyRuntime;
    use crate::secret::Secret;
    use crate::system::{Clock, FakeEnv, FixedClock};

    const OLD: &str = "AKIAOLD000000001";
    const CONFIG: &str = "[profile mfa]\ncredential_process = aws-mfa-proc --profile mfa\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\nregion = eu-west-1\n";

    struct World {
        cache: Cache,
        aws: MemoryAws,
        clock: FixedClock,
        terminal: Scripted,
        env: FakeEnv,
        _home: tempfile::TempDir,
    }

    impl World {
        /// alice holds `iam_keys`; the keychain holds OLD (marked `rotated_from`).
        fn new(iam_keys: &[&str], rotated_from: Option<&str>) -> World {
            let home = tempfile::tempdir().unwrap();
            let config = home.path().join("config");
            std::fs::write(&config, CONFIG).unwrap();
            let clock = FixedClock::new();
            let cache = Cache::memory(Box::new(MemoryKernel::default()));
            store_keys(&cache, OLD, rotated_from);
            World {
                cache,
                aws: MemoryAws::new(clock.now(), iam_keys),
                clock,
                terminal: Scripted::answering(&["123456", "654321"]),
                env: FakeEnv::default()
                    .with("HOME", home.path().to_str().unwrap())
                    .with("AWS_CONFIG_FILE", config.to_str().unwrap())
                    .with(
                        "AWS_SHARED_CREDENTIALS_FILE",
                        home.path().join("none").to_str().unwrap(),
                    ),
                _home: home,
            }
        }

        /// `rotate mfa`: the exit code, or the error's line.
        fn rotate(&mut self) -> Result<(String, u8), String> {
            let runtime = LazyRuntime::new(&self.env);
            let mut out = Vec::new();
            let mut ctx = Ctx::new(
                &self.env,
                &self.clock,
                &self.cache,
                &self.aws,
                &mut self.terminal,
                &mut out,
                &runtime,
            );
            ctx.profile = Some("mfa".into());
            let result = run(&mut ctx, &Selection::default());
            result
                .map(|code| (String::from_utf8(out).unwrap(), code))
                .map_err(|e| e.line())
        }

        fn stored(&self) -> LongTermKeys {
            match self.cache.keys("mfa").unwrap() {
                Lookup::Found(keys) => keys,
                _ => panic!("no keys stored"),
            }
        }

        fn iam(&self) -> Vec<String> {
            self.aws.keys.borrow().clone()
        }
    }

    fn store_keys(cache: &Cache, id: &str, rotated_from: Option<&str>) {
        let keys = LongTermKeys {
            access_key_id: id.into(),
            secret_access_key: Secret::new("oldsecret".into()),
            rotated_from: rotated_from.map(str::to_string),
        };
        cache.store_keys("mfa", &keys).unwrap();
    }

    #[test]
    fn after_a_rotation_iam_holds_one_key_and_it_is_the_stored_one() {
        let mut w = World::new(&[OLD], None);
        let (said, code) = w.rotate().unwrap();
        assert_eq!(code, 0);
        let stored = w.stored();
        assert_eq!(w.iam(), vec![stored.access_key_id.clone()]);
        assert_ne!(stored.access_key_id, OLD);
        assert_eq!(stored.rotated_from, None);
        assert!(
            said.contains(OLD) && said.contains(&stored.access_key_id),
            "{said}"
        );
        assert_eq!(
            w.aws.calls.borrow().len(),
            1,
            "one code for the session that signs the IAM calls"
        );
    }

    #[test]
    fn the_sessions_of_the_old_key_are_forgotten() {
        let mut w = World::new(&[OLD], None);
        w.rotate().unwrap();
        let target = crate::config::Config::load(&w.env)
            .unwrap()
            .target(&w.env, "mfa", None)
            .unwrap();
        assert!(w.cache.cached(&target, w.clock.now()).unwrap().is_none());
    }

    #[test]
    fn a_rotation_cut_short_keeps_both_keys_and_the_next_rotate_finishes_it() {
        let mut w = World::new(&[OLD], None);
        w.aws.failing_deletes.set(1);
        let error = w.rotate().unwrap_err();
        let new = w.stored();
        assert!(
            error.contains("rotate mfa") && error.contains(OLD),
            "{error}"
        );
        assert_eq!(
            new.rotated_from.as_deref(),
            Some(OLD),
            "the new key is stored, marked"
        );
        assert_eq!(
            w.iam(),
            vec![OLD.to_string(), new.access_key_id.clone()],
            "no key lost"
        );

        let (said, code) = w.rotate().unwrap();
        assert_eq!(code, 0, "{said}");
        assert_eq!(w.iam(), vec![new.access_key_id.clone()]);
        assert_eq!(w.stored().rotated_from, None);
    }

    /// Issue 17, item 7: the old secret was overwritten before the new key was proven.
    #[test]
    fn a_new_key_that_never_works_leaves_the_old_secret_stored() {
        let mut w = World::new(&[OLD], None);
        w.aws.new_key_refusals.set(usize::MAX);
        let started = w.clock.now();
        let error = w.rotate().unwrap_err();
        // It waited out IAM's patience on the clock, not on the wall.
        assert!(w.clock.now() - started >= chrono::Duration::from_std(NEW_KEY_PATIENCE).unwrap());
        assert!(
            error.contains("never worked") && error.contains(OLD),
            "{error}"
        );
        let stored = w.stored();
        assert_eq!(stored.access_key_id, OLD);
        assert_eq!(stored.secret_access_key.expose(), "oldsecret");
        assert_eq!(stored.rotated_from, None);
        assert_eq!(
            w.iam(),
            vec![OLD.to_string()],
            "the new key is deleted again"
        );
    }

    #[test]
    fn a_new_key_that_iam_takes_seconds_to_know_is_retried_until_it_works() {
        let mut w = World::new(&[OLD], None);
        w.aws.new_key_refusals.set(3);
        let started = w.clock.now();
        w.rotate().unwrap();
        assert_eq!(
            w.clock.now() - started,
            chrono::Duration::seconds(6),
            "three waits of 2 s"
        );
        assert_ne!(w.stored().access_key_id, OLD);
        assert_eq!(w.iam().len(), 1, "the old key is deleted");
    }

    #[test]
    fn a_mark_whose_old_key_is_gone_is_dropped() {
        let mut w = World::new(&[OLD], Some("AKIAGONE00000001"));
        let (said, _) = w.rotate().unwrap();
        assert!(said.contains("already complete"), "{said}");
        assert_eq!(w.stored().rotated_from, None);
        assert_eq!(w.iam(), vec![OLD.to_string()]);
    }

    #[test]
    fn a_user_with_another_key_gets_its_id_and_nothing_changes() {
        let other = "AKIAOTHER0000001";
        let mut w = World::new(&[OLD, other], None);
        let error = w.rotate().unwrap_err();
        assert!(
            error.contains(other) && error.contains("delete-access-key"),
            "{error}"
        );
        assert_eq!(w.iam(), vec![OLD.to_string(), other.to_string()]);
        assert_eq!(w.stored().access_key_id, OLD);
    }
}
