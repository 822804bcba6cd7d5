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
//!   the browser is handed a one-time local address (`http://127.0.0.1:PORT/NONCE`)
//!   that redirects to it once, so it never appears in any program's argv;
//! - the partition's own hosts (aws, aws-cn, aws-us-gov); `AWS_MFA_PROC_SIGNIN_ENDPOINT`
//!   replaces the sign-in base URL (private partitions, tests).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::Ctx;
use crate::aws::url_encode;
use crate::cli::ConsoleArgs;
use crate::config::Target;
use crate::error::Error;
use crate::output;
use crate::session::Mode;

/// How long the browser has to fetch the one-time address.
const BROWSER_PATIENCE: Duration = Duration::from_secs(60);

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
    let served = ctx.credentials(&target, Mode::Cached)?;
    let (signin, console) = hosts(role.role_arn.split(':').nth(1).unwrap_or("aws"));
    let signin = ctx
        .env
        .var("AWS_MFA_PROC_SIGNIN_ENDPOINT")
        .unwrap_or_else(|| signin.to_string());
    let signin = signin.trim_end_matches('/');
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
    open_in_browser(ctx, &url)?;
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

/// Hands the browser a one-time local address that redirects to `url`, and waits
/// until it has been fetched.
fn open_in_browser(ctx: &Ctx<'_>, url: &str) -> Result<(), Error> {
    let failed = |e: std::io::Error| {
        Error::Input(format!(
            "cannot serve the sign-in link to the browser: {e}; use --print"
        ))
    };
    let listener = TcpListener::bind("127.0.0.1:0").map_err(failed)?;
    let nonce = nonce()?;
    let local = format!("http://{}/{nonce}", listener.local_addr().map_err(failed)?);
    let browsers: Vec<String> = match ctx.env.var("BROWSER") {
        Some(list) => list.split(':').map(str::to_string).collect(),
        None if cfg!(target_os = "macos") => vec!["open".into()],
        None if cfg!(windows) => vec!["explorer".into()],
        None => vec!["xdg-open".into()],
    };
    let started = browsers.iter().any(|browser| launch(browser, &local));
    if !started {
        return Err(Error::Input(format!(
            "could not start a browser ({}); set BROWSER, or use --print",
            browsers.join(", ")
        )));
    }
    listener.set_nonblocking(true).map_err(failed)?;
    let deadline = Instant::now() + BROWSER_PATIENCE;
    while Instant::now() < deadline {
        match listener.accept() {
            Ok((stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut line = String::new();
                let _ = BufReader::new(&stream).read_line(&mut line);
                let mut stream = stream;
                if line.split_whitespace().nth(1) == Some(&format!("/{nonce}")) {
                    let answer = Zeroizing::new(format!(
                        "HTTP/1.1 302 Found\r\nLocation: {url}\r\nCache-Control: no-store\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    ));
                    let _ = stream.write_all(answer.as_bytes());
                    return Ok(());
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50))
            }
            Err(e) => return Err(failed(e)),
        }
    }
    Err(Error::Input(format!(
        "the browser did not open the sign-in page within {} s; use --print",
        BROWSER_PATIENCE.as_secs()
    )))
}

/// Starts `browser` (a command, `%s` standing for the address) on `address`; `true`
/// if it started. It is not waited for: a browser may run for hours.
fn launch(browser: &str, address: &str) -> bool {
    let mut words = browser.split_whitespace();
    let Some(program) = words.next() else {
        return false;
    };
    let mut args: Vec<String> = words.map(|w| w.replace("%s", address)).collect();
    if !browser.contains("%s") {
        args.push(address.to_string());
    }
    let mut command = Command::new(program);
    command
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for name in crate::system::CREDENTIAL_VARIABLES {
        command.env_remove(name);
    }
    match command.spawn() {
        Ok(mut child) => {
            std::thread::spawn(move || child.wait());
            true
        }
        Err(_) => false,
    }
}

/// 128 random bits from the operating system, for the one-time address.
fn nonce() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| Error::Input(format!("no randomness from the operating system: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}
