//! AWS Sign-In sessions (issue #19), step 1: the stand-in Sign-In service is proven
//! against AWS's own client before anything is tested against it.
//!
//! - The stand-in refuses every broken DPoP proof and every misuse of a refresh token
//!   (cases as data, no processes).
//! - botocore from PyPI (`botocore[crt]`), given a profile with `login_session`, a cache
//!   file in the AWS CLI's format under `AWS_LOGIN_CACHE_DIRECTORY` and
//!   `AWS_ENDPOINT_URL_SIGNIN` on the stand-in, refreshes through it (its DPoP checked)
//!   and calls STS (moto) with what it got; it reads the stand-in's errors as it reads
//!   the service's.

use std::path::PathBuf;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::rig::Rig;
use crate::signin_standin::{self as standin, DpopKey, SignIn, TokenCall};
use crate::support::{run, skip, text};

const HTU_PATH: &str = "/v1/token";

// ---- The stand-in on its own ----------------------------------------------------------

/// A refresh call with `proof` (built from `key`) for `refresh_token`.
fn refresh_with(
    signin: &SignIn,
    htu: &str,
    proof: Option<String>,
    refresh_token: &str,
) -> TokenCall {
    let body = json!({"clientId": standin::SAME_DEVICE, "grantType": "refresh_token",
                      "refreshToken": refresh_token});
    signin.judge(htu, proof.as_deref(), body.to_string().as_bytes())
}

#[test]
fn the_standin_refuses_every_broken_dpop_proof() {
    let signin = SignIn::start();
    let htu = format!("{}{HTU_PATH}", signin.url());
    let key = DpopKey::generate();
    let other = DpopKey::generate();
    let good = || {
        json!({"htm": "POST", "htu": htu, "iat": standin::now(), "jti": uuid()})
            .as_object()
            .unwrap()
            .clone()
    };
    let with = |field: &str, value: Value| {
        let mut payload = good();
        payload.insert(field.into(), value);
        key.proof_with(key.header(), Value::Object(payload))
    };
    let mut header_of_other = key.header();
    header_of_other["jwk"] = other.header()["jwk"].clone();
    let mut no_typ = key.header();
    no_typ["typ"] = json!("JWT");
    let replayed = key.proof(&htu);
    let cases: Vec<(&str, Option<String>, &str)> = vec![
        ("no proof", None, "no DPoP header"),
        ("not a JWT", Some("abc.def".into()), "three parts"),
        (
            "wrong typ",
            Some(key.proof_with(no_typ, Value::Object(good()))),
            "typ dpop+jwt",
        ),
        (
            "signed by another key than its jwk",
            Some(key.proof_with(header_of_other, Value::Object(good()))),
            "does not verify",
        ),
        (
            "htm GET",
            Some(with("htm", json!("GET"))),
            "htm is not POST",
        ),
        (
            "htu of another host",
            Some(with("htu", json!("http://example.com/v1/token"))),
            "htu is",
        ),
        (
            "iat an hour old",
            Some(with("iat", json!(standin::now() - 3600))),
            "iat is",
        ),
        ("no jti", Some(with("jti", json!(""))), "jti"),
        ("a replayed jti", Some(replayed.clone()), "jti"),
        (
            "a good proof by another key",
            Some(other.proof(&htu)),
            "bound to",
        ),
    ];
    // The replayed proof is first used once, successfully, on a session of its own.
    let first = signin.seed(&key);
    assert!(
        refresh_with(&signin, &htu, Some(replayed), &first.refresh_token)
            .outcome
            .is_ok()
    );

    for (case, proof, why) in cases {
        let seeded = signin.seed(&key);
        let call = refresh_with(&signin, &htu, proof, &seeded.refresh_token);
        match call.outcome {
            Err(e) => assert!(
                e.starts_with("INVALID_REQUEST") && e.contains(why),
                "{case}: refused for the wrong reason: {e}"
            ),
            Ok(_) => panic!("{case}: the stand-in accepted it"),
        }
        assert!(
            signin.live_refresh_token(&seeded.id).is_some(),
            "{case}: a refused proof must not use up the refresh token"
        );
    }
}

#[test]
fn a_refresh_token_works_once_and_its_reuse_ends_the_session() {
    let signin = SignIn::start();
    let htu = format!("{}{HTU_PATH}", signin.url());
    let key = DpopKey::generate();
    let seeded = signin.seed(&key);

    let first = refresh_with(&signin, &htu, Some(key.proof(&htu)), &seeded.refresh_token);
    assert_eq!(first.outcome, Ok("ASIASIGNIN0000000001".into()));
    let rotated = signin
        .live_refresh_token(&seeded.id)
        .expect("a refresh hands out a new refresh token");
    assert_ne!(rotated, seeded.refresh_token);

    let again = refresh_with(&signin, &htu, Some(key.proof(&htu)), &seeded.refresh_token);
    assert!(again.outcome.unwrap_err().starts_with("TOKEN_EXPIRED"));
    let after = refresh_with(&signin, &htu, Some(key.proof(&htu)), &rotated);
    assert!(
        after.outcome.unwrap_err().starts_with("TOKEN_EXPIRED"),
        "after a reuse, even the newest refresh token is dead"
    );
    assert_eq!(signin.refreshes(), 1);
}

/// `GET url` on a fresh connection: the status line's code, the `Location` header and
/// the body.
fn http_get(url: &str) -> (u16, Option<String>, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, target) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let location = head
        .lines()
        .find_map(|l| l.strip_prefix("Location: "))
        .map(str::to_string);
    (status, location, body.to_string())
}

/// The query of `url` as (name, decoded value) pairs.
fn query_of(url: &str) -> Vec<(String, String)> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), standin::decode(v)))
        .collect()
}

/// An authorize URL as the CLI's `_get_authorization_uri` builds it.
fn authorize_url(base: &str, client_id: &str, redirect_uri: &str, verifier: &str) -> String {
    let challenge = standin::b64u(&Sha256::digest(verifier.as_bytes()));
    format!(
        "{base}/v1/authorize?response_type=code&client_id={}&state=state-1&code_challenge_method=SHA-256&scope=openid&redirect_uri={}&code_challenge={challenge}",
        standin::encode(client_id),
        standin::encode(redirect_uri)
    )
}

#[test]
fn the_standin_redeems_a_code_once_for_the_verifier_of_its_challenge() {
    let signin = SignIn::start();
    let htu = format!("{}{HTU_PATH}", signin.url());
    let key = DpopKey::generate();
    let verifier = "v".repeat(64);
    let callback = "http://127.0.0.1:9/oauth/callback";
    let redeem = |code: &str, verifier: &str, client_id: &str, redirect_uri: &str| {
        let body = json!({"clientId": client_id, "grantType": "authorization_code",
                          "code": code, "codeVerifier": verifier, "redirectUri": redirect_uri});
        signin
            .judge(&htu, Some(&key.proof(&htu)), body.to_string().as_bytes())
            .outcome
    };

    // Same-device: the person is sent back to the loopback callback with code and state.
    let (status, location, _) = http_get(&authorize_url(
        signin.url(),
        standin::SAME_DEVICE,
        callback,
        &verifier,
    ));
    assert_eq!(status, 302);
    let location = location.unwrap();
    assert!(location.starts_with(&format!("{callback}?")), "{location}");
    let back = query_of(&location);
    assert!(
        back.contains(&("state".into(), "state-1".into())),
        "{back:?}"
    );
    let code = &back.iter().find(|(k, _)| k == "code").unwrap().1;
    assert!(
        redeem(code, &"w".repeat(64), standin::SAME_DEVICE, callback)
            .unwrap_err()
            .contains("codeVerifier")
    );
    // A refused redemption used the code up, as a real one does.
    assert!(
        redeem(code, &verifier, standin::SAME_DEVICE, callback)
            .unwrap_err()
            .starts_with("AUTHCODE_EXPIRED")
    );

    // Cross-device: the page shows base64(state=…&code=…) to paste.
    let confirmation = format!("{}/v1/sessions/confirmation", signin.url());
    let (status, _, page) = http_get(&authorize_url(
        signin.url(),
        standin::CROSS_DEVICE,
        &confirmation,
        &verifier,
    ));
    assert_eq!(status, 200);
    let shown = page
        .split_once(standin::CODE_OPEN)
        .and_then(|(_, rest)| rest.split_once(standin::CODE_CLOSE))
        .unwrap()
        .0;
    let pasted = String::from_utf8(aws_smithy_types::base64::decode(shown).unwrap()).unwrap();
    let back = query_of(&format!("?{pasted}"));
    let code = &back.iter().find(|(k, _)| k == "code").unwrap().1;
    assert_eq!(
        redeem(code, &verifier, standin::CROSS_DEVICE, &confirmation),
        Ok("ASIASIGNIN0000000001".into())
    );
    assert!(
        redeem(code, &verifier, standin::CROSS_DEVICE, &confirmation)
            .unwrap_err()
            .starts_with("AUTHCODE_EXPIRED"),
        "a code works once"
    );

    // A same-device client may be sent back only to a loopback callback.
    let (status, _, _) = http_get(&authorize_url(
        signin.url(),
        standin::SAME_DEVICE,
        "http://example.com/cb",
        &verifier,
    ));
    assert_eq!(status, 400);
}

// ---- botocore against the stand-in ----------------------------------------------------

/// What the boto3 program below prints: the access key it signed with and the
/// identity STS returned, or the error botocore raised.
const BOTO3_CALLER: &str = r#"
import json, sys, boto3, botocore.exceptions
try:
    session = boto3.Session(profile_name="signin")
    identity = session.client("sts").get_caller_identity()
    key = session.get_credentials().get_frozen_credentials().access_key
    print(json.dumps({"access_key": key, "account": identity["Account"]}))
except botocore.exceptions.BotoCoreError as e:
    print(json.dumps({"error": type(e).__name__, "message": str(e)}))
except botocore.exceptions.ClientError as e:
    print(json.dumps({"error": e.response["Error"]["Code"], "message": str(e)}))
"#;

/// A rig whose boto3 has a profile `signin` with `login_session`, and a cache file
/// holding `key` and a refresh token the stand-in knows, its credentials expired.
struct LoginSession {
    rig: Rig,
    signin: SignIn,
    cache_file: PathBuf,
    /// The stand-in's id of the session in the cache file.
    id: String,
}

fn login_session_cached(key_in_file: &DpopKey, key_bound: &DpopKey) -> Option<LoginSession> {
    let mut rig = Rig::without_keychain();
    let probe = run(rig
        .command(rig.python().to_str().unwrap())
        .args(["-c", "import awscrt"]));
    if !probe.status.success() {
        skip("the test venv lacks botocore[crt] (awscrt): run scripts/install-test-deps.sh");
        return None;
    }
    let signin = SignIn::start();
    rig.write_config(&format!(
        "[profile signin]\nlogin_session = {}\nregion = eu-west-1\n",
        standin::PERSON
    ));
    let cache = rig.dir().join("login-cache");
    std::fs::create_dir_all(&cache).unwrap();
    rig.set_env("AWS_LOGIN_CACHE_DIRECTORY", cache.to_str().unwrap());
    rig.set_env("AWS_ENDPOINT_URL_SIGNIN", signin.url());
    // The AWS CLI's cache: ~/.aws/login/cache/<sha256(session)>.json, written by
    // `LoginCredentialsLoader.save_token` from `_exchange_auth_code_for_access_token`.
    let cache_file = cache.join(format!(
        "{}.json",
        hex(&Sha256::digest(standin::PERSON.as_bytes()))
    ));
    let mut session = LoginSession {
        rig,
        signin,
        cache_file,
        id: String::new(),
    };
    session.sign_in_again(key_in_file, key_bound);
    Some(session)
}

impl LoginSession {
    /// A new session of the same person in the cache file, its credentials expired.
    fn sign_in_again(&mut self, key_in_file: &DpopKey, key_bound: &DpopKey) {
        let seeded = self.signin.seed(key_bound);
        let token = json!({
            "accessToken": {
                "accessKeyId": "ASIAEXPIREDEXPIRED01",
                "secretAccessKey": "expiredSecret",
                "sessionToken": "expiredSessionToken",
                "accountId": "111111111111",
                "expiresAt": "2020-01-01T00:00:00Z",
            },
            "tokenType": "aws_sigv4",
            "clientId": standin::SAME_DEVICE,
            "refreshToken": seeded.refresh_token,
            "idToken": "unused.by.refresh",
            "dpopKey": key_in_file.pem(),
        });
        std::fs::write(&self.cache_file, token.to_string()).unwrap();
        self.id = seeded.id;
    }
}

fn boto3_caller(rig: &Rig) -> Value {
    let out = run(rig
        .command(rig.python().to_str().unwrap())
        .args(["-c", BOTO3_CALLER]));
    assert!(out.status.success(), "boto3 failed: {}", text(&out.stderr));
    serde_json::from_str(text(&out.stdout).trim())
        .unwrap_or_else(|_| panic!("boto3 printed {:?}", text(&out.stdout)))
}

#[test]
fn botocore_refreshes_a_login_session_through_the_standin_and_calls_sts_with_it() {
    let key = DpopKey::generate();
    let Some(session) = login_session_cached(&key, &key) else {
        return;
    };
    session.rig.moto_start_recording();

    let shown = boto3_caller(&session.rig);

    assert_eq!(
        session.signin.token_calls(),
        vec![TokenCall {
            grant: "refresh_token".into(),
            outcome: Ok("ASIASIGNIN0000000001".into())
        }],
        "one refresh, its DPoP proof accepted"
    );
    assert_eq!(shown["access_key"], "ASIASIGNIN0000000001", "{shown}");
    let recorded = session.rig.moto_recorded_requests();
    assert!(
        recorded
            .lines()
            .any(|l| l.contains("key=ASIASIGNIN0000000001") && l.contains("GetCallerIdentity")),
        "STS was called with the refreshed credentials: {recorded}"
    );
    // botocore wrote the rotated refresh token back, as the CLI's cache holds it.
    let cached: Value =
        serde_json::from_slice(&std::fs::read(&session.cache_file).unwrap()).unwrap();
    assert_eq!(
        cached["refreshToken"].as_str(),
        session.signin.live_refresh_token(&session.id).as_deref()
    );
    assert_eq!(cached["accessToken"]["accessKeyId"], "ASIASIGNIN0000000001");
}

#[test]
fn botocore_reads_the_standins_errors_as_the_services() {
    // (error the stand-in answers, botocore's exception, words of its message)
    let cases = [
        ("TOKEN_EXPIRED", "LoginRefreshRequired", "aws login"),
        (
            "USER_CREDENTIALS_CHANGED",
            "LoginRefreshRequired",
            "aws login",
        ),
        (
            "INSUFFICIENT_PERMISSIONS",
            "LoginInsufficientPermissions",
            "signin:CreateOAuth2Token",
        ),
    ];
    let key = DpopKey::generate();
    let Some(mut session) = login_session_cached(&key, &key) else {
        return;
    };
    for (error, exception, words) in cases {
        session.sign_in_again(&key, &key);
        session.signin.fail_next_with(error);
        let shown = boto3_caller(&session.rig);
        assert_eq!(shown["error"], exception, "{error}: {shown}");
        assert!(
            shown["message"].as_str().unwrap().contains(words),
            "{error}: {shown}"
        );
    }
    let calls = session.signin.token_calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert!(calls.iter().all(|c| c.outcome.is_err()));
}

#[test]
fn botocore_with_a_key_the_refresh_token_is_not_bound_to_is_refused() {
    let (in_file, bound) = (DpopKey::generate(), DpopKey::generate());
    let Some(session) = login_session_cached(&in_file, &bound) else {
        return;
    };

    let shown = boto3_caller(&session.rig);

    assert_eq!(shown["error"], "ValidationException", "{shown}");
    let calls = session.signin.token_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(
        calls[0].outcome.as_ref().unwrap_err().contains("bound to"),
        "{calls:?}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn uuid() -> String {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).unwrap();
    hex(&b)
}
