//! The cache against in-memory keychains and kernel keyrings: naming, freshness,
//! copies, revocation.

use super::*;
use crate::config::{DEFAULT_DURATION, RoleSettings, Settings};
use crate::kernel::KernelRead;
use crate::kernel::MemoryKernel;
use crate::secret::Secret;
use std::sync::Arc;

/// The twin kernel, shared between caches as the real one is between processes.
#[derive(Clone, Default)]
struct Shared(Arc<MemoryKernel>);
impl KernelRead for Shared {
    fn read(&self, d: &str) -> Option<zeroize::Zeroizing<Vec<u8>>> {
        self.0.read(d)
    }
    fn descriptions(&self, p: &str) -> Vec<String> {
        self.0.descriptions(p)
    }
}

impl KernelKeyring for Shared {
    fn write(
        &self,
        d: &str,
        v: &[u8],
        t: Option<std::time::Duration>,
    ) -> Result<(), crate::kernel::KernelError> {
        self.0.write(d, v, t)
    }
    fn remove(&self, d: &str) -> bool {
        self.0.remove(d)
    }
}

/// The copies in the kernel (not the remembered instance IDs).
fn copies(kernel: &Shared) -> Vec<String> {
    let mut all = kernel.descriptions(COPY_PREFIX);
    all.retain(|d| !d.starts_with(REMEMBERED_PREFIX));
    all
}

fn session(profile: &str, keys: &str, serial: &str) -> Target {
    Target::Session(Settings {
        profile: profile.into(),
        mfa_serial: serial.into(),
        region: "eu-west-1".into(),
        profile_region: None,
        duration: DEFAULT_DURATION,
        keys: KeySource::Keychain(keys.into()),
        endpoint: None,
        iam_endpoint: None,
        codes: Default::default(),
    })
}

fn role(of: &Target, arn: &str) -> Target {
    Target::Role(RoleSettings {
        profile: "production".into(),
        role_arn: arn.into(),
        duration: std::time::Duration::from_secs(3600),
        region: "eu-west-1".into(),
        profile_region: None,
        endpoint: None,
        external_id: None,
        session_name: None,
        source_identity: None,
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        mfa: of.mfa().clone(),
    })
}

fn credentials(now: DateTime<Utc>) -> SessionCredentials {
    SessionCredentials {
        access_key_id: "ASIAEXAMPLE00001".into(),
        secret_access_key: Secret::new("secret".into()),
        session_token: Secret::new("token".into()),
        expiration: now + chrono::Duration::hours(1),
        source_access_key_id: "AKIAEXAMPLE00001".into(),
    }
}

/// Two caches in front of one keychain and one kernel, in different namespaces
/// (as two environments of one user are).
fn two_namespaces() -> (Cache, Cache, Shared) {
    let kernel = Shared::default();
    let mut a = Cache::memory(Box::new(kernel.clone()));
    let mut b = Cache::memory(Box::new(kernel.clone()));
    a.tier = Tier::Copies("aaaa".into());
    b.tier = Tier::Copies("bbbb".into());
    // One keychain: b reads what a wrote.
    (a.vault, b.vault) = Vault::memory_pair();
    (a, b, kernel)
}

#[test]
fn forgetting_a_session_reaches_its_roles_and_every_namespace_and_nothing_else() {
    let (a, b, kernel) = two_namespaces();
    let now = Utc::now();
    let alice = session("mfa", "mfa", "arn:aws:iam::1:mfa/alice");
    let alice2 = session("mfa2", "mfa", "arn:aws:iam::1:mfa/alice2");
    let admin = role(&alice, "arn:aws:iam::2:role/Admin");
    for t in [&alice, &alice2, &admin] {
        a.store(t, &credentials(now), now).unwrap();
        b.store(t, &credentials(now), now).unwrap();
    }
    assert_eq!(copies(&kernel).len(), 6);
    let Target::Session(s) = &alice else {
        unreachable!()
    };
    assert_eq!(a.forget_session(&s.keys, &s.mfa_serial, &[]).unwrap(), 2);
    for cache in [&a, &b] {
        assert!(cache.copies().fresh(&alice, now).is_none());
        assert!(cache.copies().fresh(&admin, now).is_none());
        assert!(
            cache.copies().fresh(&alice2, now).is_some(),
            "another device's session"
        );
    }
    assert!(b.cached(&admin, now).unwrap().is_none());
}

/// Two caches in front of one keychain, reached two ways (two D-Bus addresses), in
/// one namespace, and a front door at the first address that cannot reach any
/// keychain at all.
fn one_keychain_two_addresses() -> (Cache, Cache, Cache, Shared) {
    let (a, b, kernel) = two_namespaces();
    let (mut a, mut b) = (a, b);
    a.tier = Tier::Copies("same".into());
    b.tier = Tier::Copies("same".into());
    a.reached = "bus-a".into();
    b.reached = "bus-b".into();
    let mut front = Cache::memory(Box::new(kernel.clone()));
    front.vault = Vault::open("no-such-keychain".into());
    front.reached = "bus-a".into();
    front.tier = Tier::Copies("same".into());
    (a, b, front, kernel)
}

#[test]
fn one_keychain_reached_at_two_addresses_shares_its_copies_and_revokes_them_from_either() {
    let (a, b, front, kernel) = one_keychain_two_addresses();
    let now = Utc::now();
    let alice = session("mfa", "mfa", "arn:aws:iam::1:mfa/alice");
    let admin = role(&alice, "arn:aws:iam::2:role/Admin");
    for t in [&alice, &admin] {
        a.store(t, &credentials(now), now).unwrap();
    }
    assert!(
        front.copies().fresh(&admin, now).is_some(),
        "served without a keychain"
    );
    assert!(b.cached(&admin, now).unwrap().is_some());
    assert_eq!(
        copies(&kernel).len(),
        2,
        "the other address made no copies of its own"
    );

    let Target::Session(s) = &alice else {
        unreachable!()
    };
    assert_eq!(b.forget_session(&s.keys, &s.mfa_serial, &[]).unwrap(), 2);
    assert!(copies(&kernel).is_empty(), "{:?}", copies(&kernel));
    assert!(front.copies().fresh(&alice, now).is_none());
    assert!(front.copies().fresh(&admin, now).is_none());
}

#[test]
fn copies_named_by_older_builds_after_the_d_bus_address_are_revoked_at_that_address() {
    let (mut a, _, _, kernel) = one_keychain_two_addresses();
    a.legacy = "auto\0unix:path=/run/user/1000/bus".into();
    let now = Utc::now();
    let alice = session("mfa", "mfa", "arn:aws:iam::1:mfa/alice");
    let admin = role(&alice, "arn:aws:iam::2:role/Admin");
    a.store(&alice, &credentials(now), now).unwrap();
    // As builds up to 0.1 named them: digests of the backend choice and bus address.
    let old = |t: &Target| {
        let [source, session] = identity_parts(
            "auto\0unix:path=/run/user/1000/bus",
            &t.mfa().keys,
            &t.mfa().mfa_serial,
        );
        format!(
            "{COPY_PREFIX}{}:{source}:{session}:{}",
            short("/run/user/1000"),
            short(&item(t))
        )
    };
    for t in [&alice, &admin] {
        kernel
            .write(&old(t), &record::encode(&credentials(now)), None)
            .unwrap();
    }
    // The same items in front of another keychain (another test, another user's
    // desktop session): not this keychain's to revoke.
    let elsewhere = |t: &Target| old(t).replace(&short("/run/user/1000"), &short("/elsewhere"));
    let [source, session] = identity_parts(
        "auto\0unix:path=/other/bus",
        &alice.mfa().keys,
        &alice.mfa().mfa_serial,
    );
    let other = format!(
        "{COPY_PREFIX}{}:{source}:{session}:{}",
        short("/x"),
        short(&item(&alice))
    );
    kernel
        .write(&other, &record::encode(&credentials(now)), None)
        .unwrap();
    for t in [&alice, &admin] {
        kernel
            .write(&elsewhere(t), &record::encode(&credentials(now)), None)
            .unwrap();
    }
    a.forget_session(
        &alice.mfa().keys,
        "arn:aws:iam::1:mfa/alice",
        std::slice::from_ref(&admin),
    )
    .unwrap();
    assert_eq!(
        copies(&kernel),
        [other],
        "only the other keychain's copy is left"
    );
}

#[test]
fn a_role_item_under_the_name_an_older_build_gave_it_is_read_and_moved() {
    let cache = Cache::memory(Box::new(Shared::default()));
    let now = Utc::now();
    let alice = session("mfa", "mfa", "arn:aws:iam::1:mfa/alice");
    let Target::Role(mut tagged) = role(&alice, "arn:aws:iam::2:role/Admin") else {
        unreachable!()
    };
    tagged.external_id = Some("Ext-1".into());
    let tagged = Target::Role(tagged);
    let [new, old] = &items(&tagged)[..] else {
        panic!("{:?}", items(&tagged))
    };
    cache
        .vault
        .put_record(old, &credentials(now), None)
        .unwrap();
    assert!(cache.cached(&tagged, now).unwrap().is_some());
    assert!(matches!(
        cache.vault.get_record::<SessionCredentials>(new).unwrap(),
        Lookup::Found(_)
    ));
    assert!(matches!(
        cache.vault.get_record::<SessionCredentials>(old).unwrap(),
        Lookup::Missing
    ));
}

#[test]
fn a_full_quota_is_reported_and_stops_caching_only_with_the_keyutils_backend() {
    let full = crate::kernel::Quota {
        keys: (20, 200),
        bytes: (19_990, 20_000),
    };
    let kernel = MemoryKernel {
        quota: Some(full),
        ..Default::default()
    };
    let mut cache = Cache::memory(Box::new(kernel));
    let (blocks, why) = cache.quota_full().unwrap();
    assert!(!blocks && why.contains("kernel.keys.maxbytes"), "{why}");
    cache.tier = Tier::Store;
    assert!(cache.quota_full().unwrap().0);
    cache.tier = Tier::Off;
    assert_eq!(
        cache.quota_full(),
        None,
        "copies off, and a keychain that is not the kernel"
    );
}

#[test]
fn forgetting_long_term_keys_reaches_every_session_and_role_made_from_them() {
    let (a, b, _) = two_namespaces();
    let now = Utc::now();
    let alice = session("mfa", "mfa", "arn:aws:iam::1:mfa/alice");
    let other = session("other", "other", "arn:aws:iam::1:mfa/alice");
    let admin = role(&alice, "arn:aws:iam::2:role/Admin");
    for t in [&alice, &other, &admin] {
        b.store(t, &credentials(now), now).unwrap();
    }
    a.forget_keys(&KeySource::Keychain("mfa".into()), &[])
        .unwrap();
    assert!(b.cached(&alice, now).unwrap().is_none());
    assert!(b.cached(&admin, now).unwrap().is_none());
    assert!(b.cached(&other, now).unwrap().is_some());
}

#[test]
fn with_the_keyutils_backend_there_are_no_copies_and_the_front_door_reads_the_store() {
    let kernel = Shared::default();
    let mut cache = Cache::memory(Box::new(kernel.clone()));
    cache.tier = Tier::Store;
    cache.vault = Vault::with_store(Box::new(crate::store::kernel_store::KernelStore::new(
        Box::new(kernel.clone()),
    )));
    let now = Utc::now();
    let alice = session("mfa", "mfa", "arn:aws:iam::1:mfa/alice");
    cache.store(&alice, &credentials(now), now).unwrap();
    let keys = kernel.0.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 1, "one item, no copy: {:?}", keys.keys());
    let (description, (_, ttl)) = keys.iter().next().unwrap();
    assert!(description.starts_with(STORE_PREFIX));
    assert!(ttl.is_some(), "a session item expires");
    assert!(cache.copies().fresh(&alice, now).is_some());
}
