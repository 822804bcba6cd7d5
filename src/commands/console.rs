//! `console [PROFILE] [--path PATH] [--region REGION] [--print]`: the AWS console in the
//! browser, signed in as a role, with MFA kept.
//!
//! The role's credentials (assumed with the cached MFA session, so one code serves the
//! CLI and the console) are exchanged at the federation endpoint for a sign-in token
//! (`getSigninToken`), which goes into a `login` URL for the wanted page.
//!
//! Invariants:
//! - only role credentials sign in: for an MFA session itself the answer is a refusal
//!   naming the role profiles that chain from it; there is no fallback to
//!   GetFederationToken with the long-term keys (it would drop MFA);
//! - the sign-in URL is a credential: it goes to stdout only with `--print`; otherwise
//!   the browser is handed a page that only this user can read (0600, in a private
//!   directory in memory: the runtime directory on tmpfs, else a new private directory
//!   in /dev/shm, never a disk directory) holding only a one-time local address
//!   (`http://127.0.0.1:PORT/NONCE`) that redirects to the URL once. So neither the URL
//!   nor the address is in any program's argv, and the page is removed after use;
//! - the local listener answers only connections from this user's processes (see
//!   [`crate::loopback`]); another user's is refused, reported on stderr, and the
//!   browser is still waited for, until [`BROWSER_PATIENCE`];
//! - "Opened" is said only after this user's browser fetched the one-time address;
//! - the role's credentials go only to a sign-in endpoint that
//!   [`crate::aws::check_signin`] allows: the partition's own (aws, aws-cn,
//!   aws-us-gov); `AWS_MFA_PROC_SIGNIN_ENDPOINT` or the profile's
//!   `aws_mfa_proc_signin_endpoint` may replace it within that rule.

use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::Ctx;
use super::Error;
use crate::aws::{check_signin, url_encode};
use crate::cli::ConsoleArgs;
use crate::config::{RoleSettings, SIGNIN_ENDPOINT_KEY, Target};
use crate::error::one_line;
use crate::loopback::{Listener, Refused};
use crate::output;
use crate::runtime::RuntimeDir;
use crate::session::Mode;

/// How long the browser has to fetch the one-time address.
const BROWSER_PATIENCE: Duration = Duration::from_secs(60);
/// How long one connection has to send its request line and headers.
const REQUEST_PATIENCE: Duration = Duration::from_secs(10);
/// Replaces the partition's sign-in base URL, within [`check_signin`]'s rule.
const SIGNIN_VARIABLE: &str = "AWS_MFA_PROC_SIGNIN_ENDPOINT";

pub(crate) fn run(ctx: &mut Ctx<'_>, args: &ConsoleArgs) -> Result<u8, Error> {
    let mut target = ctx.target()?;
    // No profile named, and the one chosen is the MFA session: its only role is meant.
    if ctx.profile.is_none()
        && let Target::Session(session) = &target
        && let Some(role) = ctx
            .config()
            .ok()
            .map(|c| c.roles_from(&session.profile))
            .filter(|roles| roles.len() == 1)
            .map(|roles| roles[0].to_string())
    {
        ctx.profile = Some(role);
        target = ctx.target()?;
    }
    let Target::Role(role) = &target else {
        let name = target.profile().to_string();
        let roles = ctx
            .config()
            .map(|c| c.roles_from(&name).join(", "))
            .unwrap_or_default();
        let which = if roles.is_empty() {
            format!(
                "add one (`role_arn = …` and `source_profile = {name}` in a profile of its own)"
            )
        } else {
            format!("use a role profile that chains from it: {roles}")
        };
        if target.mfa().is_sign_in() {
            return Err(Error::Input(format!(
                "profile `{name}` is an AWS Sign-In session, which is itself a console sign-in: open the console in the browser you signed in with; to open it as a role, {which}"
            )));
        }
        return Err(Error::Input(format!(
            "profile `{name}` is an MFA session, and AWS lets session credentials from GetSessionToken neither sign in to the console nor call GetFederationToken; the way in with MFA kept is a role: {which}"
        )));
    };
    let region = args
        .region
        .clone()
        .or_else(|| role.profile_region.clone())
        .unwrap_or_else(|| role.region.clone());
    if !crate::config::is_region(&region) {
        return Err(Error::Input(format!(
            "`{}` is not a region name (e.g. eu-west-1)",
            crate::error::clip(&region, 40)
        )));
    }
    let (signin, console) = hosts(role.role_arn.split(':').nth(1).unwrap_or("aws"));
    let signin = signin_endpoint(ctx, role, signin)?;
    let signin = signin.trim_end_matches('/');
    let served = ctx.credentials(&target, Mode::Cached)?;
    let token = Zeroizing::new(
        ctx.aws
            .signin_token(signin, &served.credentials)
            .map_err(|e| Error::Input(format!("profile `{}`: {e}", role.profile)))?,
    );
    let destination = match args.path.as_deref().map(|p| p.trim_start_matches('/')) {
        // A page of its own (`ec2/home?region=…#Instances`), taken as given.
        Some(page) if page.contains(['/', '?', '#']) => format!("https://{console}/{page}"),
        Some(service) => format!("https://{console}/{service}/home?region={region}"),
        None => format!("https://{console}/console/home?region={region}"),
    };
    let url = Zeroizing::new(format!(
        "{signin}/federation?Action=login&Issuer=aws-mfa-proc&Destination={}&SigninToken={}",
        url_encode(&destination),
        url_encode(&token)
    ));
    if args.print {
        output::report(ctx.out, &url);
        return Ok(0);
    }
    open_in_browser(ctx, &role.profile, &url)?;
    output::report(
        ctx.out,
        &format!(
            "Opened the AWS console as `{}` ({}) in the browser; the sign-in link works for 15 minutes",
            role.profile, role.role_arn
        ),
    );
    Ok(0)
}

/// The sign-in and console hosts of a partition.
fn hosts(partition: &str) -> (&'static str, &'static str) {
    match partition {
        "aws-cn" => ("https://signin.amazonaws.cn", "console.amazonaws.cn"),
        "aws-us-gov" => (
            "https://signin.amazonaws-us-gov.com",
            "console.amazonaws-us-gov.com",
        ),
        _ => ("https://signin.aws.amazon.com", "console.aws.amazon.com"),
    }
}

/// The sign-in base URL: `AWS_MFA_PROC_SIGNIN_ENDPOINT`, else the profile's
/// `aws_mfa_proc_signin_endpoint`, else the partition's `default`; refused unless
/// [`check_signin`] lets it receive the role's credentials.
fn signin_endpoint(ctx: &Ctx<'_>, role: &RoleSettings, default: &str) -> Result<String, Error> {
    let named = ctx
        .config()?
        .value(&role.profile, SIGNIN_ENDPOINT_KEY)
        .map(str::to_string);
    let (from, url) = match (ctx.env.var(SIGNIN_VARIABLE), &named) {
        (Some(url), _) => (SIGNIN_VARIABLE.to_string(), url),
        (None, Some(url)) => (format!("`{SIGNIN_ENDPOINT_KEY}`"), url.clone()),
        (None, None) => return Ok(default.to_string()),
    };
    check_signin(&url, named.as_deref()).map_err(|why| {
        Error::Input(format!(
            "profile `{}`: the sign-in endpoint {from} = {} would be sent the role's credentials, and is refused: {why}. Fix: unset {SIGNIN_VARIABLE}, or name an https endpoint you trust in the profile with `{SIGNIN_ENDPOINT_KEY} = https://…`",
            role.profile,
            one_line(&url, 100)
        ))
    })?;
    Ok(url)
}

/// Hands the browser a private page that redirects to a one-time local address, which
/// redirects to `url`; waits until this user's browser has fetched it.
fn open_in_browser(ctx: &Ctx<'_>, profile: &str, url: &str) -> Result<(), Error> {
    let failed = |e: &dyn std::fmt::Display| {
        Error::Input(format!(
            "profile `{profile}`: cannot serve the sign-in link to the browser: {e}; use --print"
        ))
    };
    let listener = Listener::bind().map_err(|e| failed(&e))?;
    let nonce = nonce()?;
    let local = format!("http://127.0.0.1:{}/{nonce}", listener.port());
    let page = Page::write(ctx, &local).map_err(|e| failed(&e))?;
    let browsers = crate::browser::commands(ctx.env);
    let started = browsers
        .iter()
        .any(|browser| crate::browser::launch(browser, &page.url()));
    if !started {
        return Err(Error::Input(format!(
            "could not start a browser ({}); set BROWSER, or use --print",
            browsers.join(", ")
        )));
    }
    let deadline = Instant::now() + BROWSER_PATIENCE;
    let mut refused = |r: Refused| {
        let who = r
            .uid
            .map_or("a process whose owner cannot be found".into(), |uid| {
                format!("another user (uid {uid})")
            });
        crate::log::notice(&format!(
            "refused a connection to the console sign-in page from {who}, port {}; still waiting for your browser",
            r.peer.port()
        ));
    };
    let wanted = format!("/{nonce}");
    while let Some(mut connection) = listener
        .accept_own(deadline, &mut refused)
        .map_err(|e| failed(&e))?
    {
        match connection.read_request(REQUEST_PATIENCE) {
            Ok(request) if request.method == "GET" && request.path == wanted => {
                let _ = connection.respond(
                    "302 Found",
                    &[("Location", url), ("Cache-Control", "no-store")],
                    b"",
                );
                drop(page);
                return Ok(());
            }
            Ok(_) => {
                let _ = connection.respond("404 Not Found", &[], b"");
            }
            Err(e) => crate::debug!("a connection to the console sign-in page: {e}"),
        }
    }
    Err(Error::Input(format!(
        "profile `{profile}`: the browser did not open the sign-in page {} within {} s (a sandboxed browser, such as a snap, may not be allowed to read it); use --print",
        page.url(),
        BROWSER_PATIENCE.as_secs()
    )))
}

/// The page the browser is handed: 0600, in a private directory in memory, holding
/// only the one-time local address; removed (with its directory, if made for it) on
/// drop.
struct Page<'a> {
    dir: Option<PageDir<'a>>,
    name: String,
}

enum PageDir<'a> {
    Runtime(&'a RuntimeDir),
    Own(RuntimeDir),
}

impl PageDir<'_> {
    fn get(&self) -> &RuntimeDir {
        match self {
            PageDir::Runtime(dir) => dir,
            PageDir::Own(dir) => dir,
        }
    }
}

/// Shared memory, where the page goes when the runtime directory is on disk.
const SHM: &str = "/dev/shm";

impl<'a> Page<'a> {
    fn write(ctx: &'a Ctx<'_>, local: &str) -> Result<Page<'a>, String> {
        let dir = match ctx.runtime.dir() {
            Ok(dir) if in_memory(dir) => PageDir::Runtime(dir),
            _ => {
                let prefix = format!("aws-mfa-proc-console-{}", std::process::id());
                let own = RuntimeDir::create_private(std::path::Path::new(SHM), &prefix).map_err(
                    |e| format!("no private directory in memory for the sign-in page ({e})"),
                )?;
                if !in_memory(&own) {
                    own.remove_dir();
                    return Err(format!(
                        "{SHM} is not in memory, and the sign-in page goes on no disk"
                    ));
                }
                PageDir::Own(own)
            }
        };
        let page = Page {
            dir: Some(dir),
            name: format!("console-{}.html", std::process::id()),
        };
        let html = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\"><meta http-equiv=\"refresh\" content=\"0;url={local}\"><title>AWS console sign-in</title></head>\n<body><p><a href=\"{local}\">Continue to the AWS console</a></p></body></html>\n"
        );
        page.dir()
            .write_file(&page.name, html.as_bytes())
            .map_err(|e| format!("cannot write the sign-in page: {e}"))?;
        Ok(page)
    }

    fn dir(&self) -> &RuntimeDir {
        self.dir.as_ref().expect("until dropped").get()
    }

    /// `file:///…`, for the browser.
    fn url(&self) -> String {
        let path = self.dir().file_path(&self.name);
        let encoded: Vec<String> = path.to_string_lossy().split('/').map(url_encode).collect();
        format!("file://{}", encoded.join("/"))
    }
}

impl Drop for Page<'_> {
    fn drop(&mut self) {
        match self.dir.take() {
            Some(PageDir::Runtime(dir)) => {
                let _ = dir.remove(&self.name);
            }
            Some(PageDir::Own(dir)) => dir.remove_dir(),
            None => {}
        }
    }
}

/// Whether a page in `dir` stays off any disk. Off Linux there is no tmpfs to count on;
/// the private runtime directory is used, and the page holds only an address that is
/// dead once used or once the command ends.
fn in_memory(dir: &RuntimeDir) -> bool {
    dir.in_memory() || cfg!(not(target_os = "linux"))
}

/// 128 random bits from the operating system, for the one-time address.
fn nonce() -> Result<String, Error> {
    crate::loopback::random_hex(16)
        .map_err(|e| Error::Input(format!("no randomness from the operating system: {e}")))
}
