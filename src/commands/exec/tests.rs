//! `exec --server` over hours, on in-memory twins: a scripted terminal, the STS twin, a
//! clock that moves only when told (with the 15-minute margin, moto's shortest role,
//! 900 s, would never be fresh). The real callers are in tests/e2e/server.rs.

use crate::aws::twin::{MemoryAws, key_id};
use crate::cache::Cache;
use crate::commands::Ctx;
use crate::config::Target;
use crate::credentials::LongTermKeys;
use crate::kernel::MemoryKernel;
use crate::loopback::Request;
use crate::prompt::Scripted;
use crate::runtime::LazyRuntime;
use crate::secret::Secret;
use crate::server::{PATH, answer};
use crate::session::Mode;
use crate::system::{Clock, FakeEnv, FixedClock};

const CONFIG: &str = "\
[profile mfa]
credential_process = aws-mfa-proc --profile mfa
mfa_serial = arn:aws:iam::111111111111:mfa/alice
region = eu-west-1

[profile production]
role_arn = arn:aws:iam::222222222222:role/Admin
source_profile = mfa
";
const ROLE_ARN: &str = "arn:aws:iam::222222222222:role/Admin";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

struct World {
    cache: Cache,
    aws: MemoryAws,
    clock: FixedClock,
    terminal: Scripted,
    env: FakeEnv,
    _home: tempfile::TempDir,
}

impl World {
    /// `production` (a role from `mfa`'s MFA session), a terminal that would type
    /// `answers`.
    fn new(answers: &[&str]) -> World {
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join("config");
        std::fs::write(&config, CONFIG).unwrap();
        let clock = FixedClock::new();
        let cache = Cache::memory(Box::new(MemoryKernel::default()));
        let keys = LongTermKeys {
            access_key_id: "AKIAEXAMPLE00001".into(),
            secret_access_key: Secret::new("longterm".into()),
            rotated_from: None,
        };
        cache.store_keys("mfa", &keys).unwrap();
        World {
            cache,
            aws: MemoryAws::new(clock.now(), &[]),
            clock,
            terminal: Scripted::answering(answers),
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

    /// Runs `steps` as `exec --server production` does: the credentials fetched once at
    /// the terminal before the program starts, then requests answered while the
    /// program has the terminal. `steps` may move both clocks (ours and STS's) on.
    fn exec_server<T>(
        &mut self,
        steps: impl FnOnce(&mut Ctx<'_>, &Target, &dyn Fn(chrono::Duration)) -> T,
    ) -> T {
        let runtime = LazyRuntime::new(&self.env);
        let mut out = Vec::new();
        let (clock, aws) = (&self.clock, &self.aws);
        let advance = |by: chrono::Duration| {
            clock.advance(by);
            aws.now.set(clock.now());
        };
        let mut ctx = Ctx::new(
            &self.env,
            clock,
            &self.cache,
            aws,
            &mut self.terminal,
            &mut out,
            &runtime,
        );
        ctx.profile = Some("production".into());
        let target = ctx.target().unwrap();
        ctx.credentials(&target, Mode::Cached).unwrap();
        steps(&mut ctx, &target, &advance)
    }
}

/// A GET of `path` with `token` (none: no Authorization header).
fn request(method: &str, path: &str, token: Option<&str>) -> Request {
    Request {
        method: method.into(),
        path: path.into(),
        headers: token
            .map(|t| vec![("Authorization".to_string(), t.to_string())])
            .unwrap_or_default(),
    }
}

/// What the program's SDK gets for one request: the status and the body as JSON.
fn served(ctx: &Ctx<'_>, target: &Target) -> (&'static str, serde_json::Value) {
    let answer = answer(
        &request("GET", PATH, Some(TOKEN)),
        TOKEN,
        Some(ROLE_ARN),
        &mut || {
            ctx.credentials_off_terminal(target, Mode::Cached, "sh")
                .map(|s| s.credentials)
                .map_err(|e| e.line())
        },
    );
    let body = serde_json::from_slice(&answer.body).unwrap();
    (answer.status, body)
}

#[test]
fn a_long_running_program_is_served_a_renewed_role_without_a_second_code() {
    let mut w = World::new(&["123456", "234567"]);
    let answers = w.exec_server(|ctx, target, advance| {
        let mut answers = vec![served(ctx, target)];
        // The role lasts an hour: 16 minutes left is still fresh, 14 is not.
        for minutes in [44, 2, 30] {
            advance(chrono::Duration::minutes(minutes));
            answers.push(served(ctx, target));
        }
        answers
    });
    let keys: Vec<&str> = answers
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, "200 OK", "{body}");
            assert_eq!(body["RoleArn"], ROLE_ARN);
            body["AccessKeyId"].as_str().unwrap()
        })
        .collect();
    let role = |n| key_id("ASIAROLE", n);
    assert_eq!(keys, [role(1), role(1), role(2), role(2)]);
    let expiry = |i: usize| answers[i].1["Expiration"].as_str().unwrap().to_string();
    assert!(expiry(2) > expiry(1), "{} then {}", expiry(1), expiry(2));
    assert_eq!(
        w.terminal.asked.len(),
        1,
        "one code, before the program started"
    );
    assert_eq!(w.aws.calls.borrow().len(), 1);
}

#[test]
fn when_the_mfa_session_ends_while_the_program_has_the_terminal_the_answer_names_login() {
    // The terminal would answer, but it is the program's now; no dialog, no mfa_process.
    let mut w = World::new(&["123456", "234567"]);
    let (expired, after_login) = w.exec_server(|ctx, target, advance| {
        advance(chrono::Duration::hours(12));
        let expired = served(ctx, target);
        // `aws-mfa-proc login mfa` in another terminal.
        let mfa = Target::Session(target.mfa().clone());
        ctx.credentials(&mfa, Mode::Refresh).unwrap();
        (expired, served(ctx, target))
    });
    assert_eq!(expired.0, "503 Service Unavailable");
    assert_eq!(expired.1["Code"], "CredentialsUnavailable");
    let message = expired.1["Message"].as_str().unwrap();
    assert!(
        message.contains("aws-mfa-proc login --profile mfa"),
        "{message}"
    );
    assert!(
        message.contains("the terminal belongs to `sh`"),
        "{message}"
    );
    assert_eq!(after_login.0, "200 OK", "{}", after_login.1);
    assert_eq!(
        w.terminal.asked.len(),
        2,
        "the start and the login, never for the program"
    );
}
