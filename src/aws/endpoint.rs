//! Which sign-in endpoints may receive a role's credentials (`console` sends the secret
//! key and token to it, in the query string).
//!
//! The rule, as a pure function of the URL and what the profile names:
//! - plain `http` only to a loopback address (127.0.0.1, ::1, localhost), for tests;
//! - otherwise `https`, on a partition's sign-in host (`signin.aws.amazon.com`,
//!   `signin.amazonaws.cn`, `signin.amazonaws-us-gov.com`) or its regional form
//!   (`REGION.signin.aws.amazon.com`);
//! - another `https` host only when the profile names it in the config file
//!   (`aws_mfa_proc_signin_endpoint`), so one variable from a `.env` cannot send
//!   credentials elsewhere;
//! - the URL is `SCHEME://HOST[:PORT][/PATH]` and nothing else: no user info, query,
//!   fragment or backslash that another parser might read as a different host.

/// The partitions' sign-in hosts.
const SIGNIN_HOSTS: [&str; 3] = [
    "signin.aws.amazon.com",
    "signin.amazonaws.cn",
    "signin.amazonaws-us-gov.com",
];

const LOOPBACK_HOSTS: [&str; 4] = ["127.0.0.1", "[::1]", "::1", "localhost"];

/// A URL's parts, as this rule reads them.
#[derive(Debug, PartialEq, Eq)]
struct Parts {
    https: bool,
    /// Lower case; an IPv6 literal keeps its brackets.
    host: String,
    port: Option<u16>,
}

/// `Ok` if `url` may receive credentials as the sign-in endpoint, else why not (a
/// sentence). `named` is the endpoint the profile names, if it names one.
pub(crate) fn check_signin(url: &str, named: Option<&str>) -> Result<(), String> {
    let parts = parse(url)?;
    if LOOPBACK_HOSTS.contains(&parts.host.as_str()) {
        return Ok(());
    }
    if !parts.https {
        return Err("plain http is allowed only to a loopback address".into());
    }
    if is_signin_host(&parts.host) {
        return Ok(());
    }
    match named.map(parse) {
        Some(Ok(named)) if named.https && named.host == parts.host && named.port == parts.port => {
            Ok(())
        }
        _ => Err(format!(
            "{} is not an AWS sign-in host, and the profile does not name it with `aws_mfa_proc_signin_endpoint`",
            parts.host
        )),
    }
}

/// A partition's sign-in host, or its regional form (one label in front).
fn is_signin_host(host: &str) -> bool {
    SIGNIN_HOSTS.iter().any(|base| {
        host == *base
            || host
                .strip_suffix(base)
                .and_then(|h| h.strip_suffix('.'))
                .is_some_and(|label| {
                    !label.is_empty()
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                })
    })
}

fn parse(url: &str) -> Result<Parts, String> {
    let malformed = || "it is not of the form https://HOST[:PORT][/PATH]".to_string();
    let (scheme, rest) = url.split_once("://").ok_or_else(malformed)?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "https" => true,
        "http" => false,
        _ => return Err(malformed()),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path_ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b));
    if !path_ok {
        return Err(malformed());
    }
    let authority = authority.to_ascii_lowercase();
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (literal, after) = v6.split_once(']').ok_or_else(malformed)?;
            if literal.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(malformed());
            }
            (format!("[{literal}]"), after.strip_prefix(':'))
        }
        None => {
            let (host, port) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority.as_str(), None),
            };
            let labels_ok = !host.is_empty()
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !labels_ok {
                return Err(malformed());
            }
            (host.to_string(), port)
        }
    };
    let port = match port {
        None if host.starts_with('[') && !authority.ends_with(']') => return Err(malformed()),
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => return Err(malformed()),
        },
    };
    Ok(Parts { https, host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sign_in_hosts_loopback_and_what_the_profile_names_receive_credentials() {
        let named = Some("https://signin.example.internal");
        // (endpoint, what the profile names, allowed)
        let cases: &[(&str, Option<&str>, bool)] = &[
            // The partitions' own hosts, and their regional forms.
            ("https://signin.aws.amazon.com", None, true),
            ("https://signin.aws.amazon.com/", None, true),
            ("https://SIGNIN.aws.amazon.com", None, true),
            ("https://us-east-1.signin.aws.amazon.com", None, true),
            ("https://signin.amazonaws.cn", None, true),
            ("https://cn-north-1.signin.amazonaws.cn", None, true),
            ("https://signin.amazonaws-us-gov.com", None, true),
            (
                "https://us-gov-west-1.signin.amazonaws-us-gov.com",
                None,
                true,
            ),
            ("https://signin.aws.amazon.com:443/prefix", None, true),
            // Plain http: loopback only.
            ("http://127.0.0.1:8080", None, true),
            ("http://[::1]:8080", None, true),
            ("http://localhost:8080/x", None, true),
            ("http://signin.aws.amazon.com", None, false),
            ("http://127.0.0.2:8080", None, false),
            ("http://10.0.0.1", None, false),
            ("http://evil.example.com", named, false),
            // Another host: only the one the profile names.
            ("https://evil.example.com", None, false),
            ("https://signin.example.internal", None, false),
            ("https://signin.example.internal", named, true),
            ("https://signin.example.internal/sub", named, true),
            ("https://signin.example.internal:8443", named, false),
            ("https://other.example.internal", named, false),
            (
                "https://signin.example.internal",
                Some("http://signin.example.internal"),
                false,
            ),
            // Look-alikes.
            ("https://signin.aws.amazon.com.evil.com", None, false),
            ("https://evilsignin.aws.amazon.com", None, false),
            ("https://a.b.signin.aws.amazon.com", None, false),
            ("https://signin.aws.amazon.com@evil.com", None, false),
            ("https://evil.com#@signin.aws.amazon.com", None, false),
            ("https://evil.com?.signin.aws.amazon.com", None, false),
            ("https://signin.aws.amazon.com/?next=x", None, false),
            ("https://evil.com\\@signin.aws.amazon.com", None, false),
            ("https://signin.aws.amazon.com./", None, false),
            ("https://signin.aws.amazon.com:0", None, false),
            ("https://signin.aws.amazon.com:+443", None, false),
            ("https://signin.aws.amazon.com:99999", None, false),
            ("https://[::1", None, false),
            ("ftp://signin.aws.amazon.com", None, false),
            ("signin.aws.amazon.com", None, false),
            ("", None, false),
        ];
        for (url, named, allowed) in cases {
            let got = check_signin(url, *named);
            assert_eq!(got.is_ok(), *allowed, "{url} (named {named:?}): {got:?}");
            if let Err(why) = got {
                assert!(!why.contains('\n'), "{why}");
            }
        }
    }
}
