//! The endpoint's answers to each kind of request, and its document. How a
//! long-running program is served over hours is in commands/exec/tests.rs.

use super::*;

const ROLE_ARN: &str = "arn:aws:iam::222222222222:role/Admin";
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

/// A request for `path` with `token` (none: no Authorization header).
fn request(method: &str, path: &str, token: Option<&str>) -> Request {
    Request {
        method: method.into(),
        path: path.into(),
        headers: token
            .map(|t| vec![("Authorization".to_string(), t.to_string())])
            .unwrap_or_default(),
    }
}

#[test]
fn only_a_get_of_the_path_with_the_token_reaches_the_credentials() {
    // (method, path, Authorization, status)
    let cases: &[(&str, &str, Option<&str>, &str)] = &[
        ("GET", PATH, None, "401 Unauthorized"),
        ("GET", PATH, Some(""), "401 Unauthorized"),
        (
            "GET",
            PATH,
            Some("0123456789abcdef0123456789abcdee"),
            "401 Unauthorized",
        ),
        ("GET", PATH, Some("0123456789abcdef"), "401 Unauthorized"),
        (
            "GET",
            PATH,
            Some("Bearer 0123456789abcdef0123456789abcdef"),
            "401 Unauthorized",
        ),
        (
            "GET",
            "/credentials?profile=other",
            None,
            "401 Unauthorized",
        ),
        (
            "GET",
            "/credentials?profile=other",
            Some(TOKEN),
            "404 Not Found",
        ),
        ("GET", "/credentials/", Some(TOKEN), "404 Not Found"),
        ("GET", "/", Some(TOKEN), "404 Not Found"),
        ("POST", PATH, Some(TOKEN), "405 Method Not Allowed"),
        ("PUT", PATH, Some(TOKEN), "405 Method Not Allowed"),
        ("get", PATH, Some(TOKEN), "405 Method Not Allowed"),
        ("GET", PATH, Some(TOKEN), "200 OK"),
    ];
    for (method, path, token, status) in cases {
        let mut fetched = 0;
        let answer = answer(&request(method, path, *token), TOKEN, None, &mut || {
            fetched += 1;
            Err("aws-mfa-proc: no credentials in this test".into())
        });
        let expected_fetches = usize::from(*status == "200 OK");
        let status = if expected_fetches == 1 {
            "503 Service Unavailable"
        } else {
            status
        };
        assert_eq!(answer.status, status, "{method} {path} {token:?}");
        assert_eq!(fetched, expected_fetches, "{method} {path} {token:?}");
        let body = String::from_utf8(answer.body.to_vec()).unwrap();
        assert!(!body.contains(TOKEN), "{body}");
    }
}

#[test]
fn the_document_has_the_fields_the_sdks_read() {
    let c = SessionCredentials {
        access_key_id: "ASIAEXAMPLE00001".into(),
        secret_access_key: Secret::new("secret".into()),
        session_token: Secret::new("token".into()),
        expiration: chrono::DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
            .unwrap()
            .into(),
        source_access_key_id: "AKIAEXAMPLE00001".into(),
    };
    let ok = |c: &SessionCredentials| Ok(c.clone());
    for (role, expected) in [
        (
            Some(ROLE_ARN),
            serde_json::json!({"AccessKeyId": "ASIAEXAMPLE00001", "SecretAccessKey": "secret", "Token": "token", "Expiration": "2030-01-02T03:04:05Z", "RoleArn": ROLE_ARN}),
        ),
        (
            None,
            serde_json::json!({"AccessKeyId": "ASIAEXAMPLE00001", "SecretAccessKey": "secret", "Token": "token", "Expiration": "2030-01-02T03:04:05Z"}),
        ),
    ] {
        let answer = answer(&request("GET", PATH, Some(TOKEN)), TOKEN, role, &mut || {
            ok(&c)
        });
        let body: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
        assert_eq!(body, expected);
    }
}
