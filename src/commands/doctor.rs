//! `doctor [PROFILE] [--format json]`: one check per line, ✓ or ✗ (each ✗ with its
//! fix), and `!` for advice that needs no action.
//!
//! Invariants: reading only (the kernel-keyring probe writes one short-lived key and
//! removes it); nothing is asked; the exit status is 0 only when no check failed.

use std::path::{Path, PathBuf};

use super::Ctx;
use super::Error;
use crate::aws::Place;
use crate::cli::{DoctorArgs, ReportFormat};
use crate::config::{
    Config, KeySource, Settings, Target, botocore_differs, command_words, env_endpoint,
};
use crate::output;
use crate::prompt;
use crate::store::Lookup;

#[derive(Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Ok,
    Fail,
    Advice,
}

#[derive(serde::Serialize)]
struct Check {
    check: String,
    status: Status,
    detail: String,
}

struct Report(Vec<Check>);

impl Report {
    fn add(&mut self, check: impl Into<String>, status: Status, detail: impl Into<String>) {
        self.0.push(Check {
            check: check.into(),
            status,
            detail: detail.into(),
        });
    }
    fn ok(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.add(check, Status::Ok, detail)
    }
    fn fail(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.add(check, Status::Fail, detail)
    }
    fn advice(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.add(check, Status::Advice, detail)
    }
}

pub(crate) fn run(ctx: &mut Ctx<'_>, args: &DoctorArgs) -> Result<u8, Error> {
    let mut report = Report(Vec::new());
    match Config::load(ctx.env) {
        Err(e) => report.fail("config", e.to_string()),
        Ok(config) => check_config(ctx, &config, &mut report),
    }
    binaries(&mut report);
    let failed = report.0.iter().any(|c| c.status == Status::Fail);
    match args.format {
        ReportFormat::Json => {
            let doc = serde_json::json!({ "ok": !failed, "checks": report.0 });
            output::report(ctx.out, &doc.to_string());
        }
        ReportFormat::Text => {
            for c in &report.0 {
                let mark = match c.status {
                    Status::Ok => "✓",
                    Status::Fail => "✗",
                    Status::Advice => "!",
                };
                output::report(ctx.out, &format!("{mark} {}: {}", c.check, c.detail));
            }
        }
    }
    Ok(u8::from(failed))
}

fn check_config(ctx: &mut Ctx<'_>, config: &Config, report: &mut Report) {
    let helpers: Vec<String> = match &ctx.profile {
        Some(named) => vec![named.clone()],
        None => config
            .helper_profiles()
            .into_iter()
            .map(str::to_string)
            .collect(),
    };
    let all: Vec<String> = config
        .helper_profiles()
        .into_iter()
        .map(str::to_string)
        .collect();
    report.ok(
        "config",
        format!(
            "{} parses; profiles that run aws-mfa-proc: {}",
            config.config_path().display(),
            list(&all)
        ),
    );
    for finding in config.findings() {
        let about = finding.profile.as_deref();
        if ctx.profile.is_some() && about.is_some_and(|p| !helpers.iter().any(|h| h == p)) {
            continue;
        }
        let name = format!(
            "layout{}",
            about.map(|p| format!(" `{p}`")).unwrap_or_default()
        );
        if finding.advice {
            report.advice(name, finding.text);
        } else {
            report.fail(name, finding.text);
        }
    }
    // After the layout: a section the SDKs ignore (`[mfa]` for `[profile mfa]`) is the
    // real reason no profile runs aws-mfa-proc, and its fix comes first.
    if helpers.is_empty() {
        let layout_failed = report.0.iter().any(|c| c.status == Status::Fail);
        report.fail(
            "profiles",
            if layout_failed {
                "no profile that the SDKs read runs aws-mfa-proc: fix the layout above"
            } else {
                "no profile runs aws-mfa-proc. Run `aws-mfa-proc setup`, or add one (docs/configuration.md)"
            },
        );
    }
    match ctx.cache.check() {
        Ok(()) => {
            let backend = ctx.cache.backend();
            report.ok(
                "keychain",
                format!("the {} is reachable and unlocked", ctx.cache.describe()),
            );
            if backend.is_ok_and(|b| !b.durable()) {
                report.advice("keychain", "items live in kernel memory and go at reboot (long-term keys too): a Secret Service keeps them");
            }
        }
        Err(e) => report.fail("keychain", e.to_string()),
    }
    match ctx.cache.probe_kernel() {
        Ok(how) => report.ok("fast path", how),
        Err(why) => report.add("fast path", Status::Advice, why),
    }
    match ctx.cache.quota_full() {
        Some((true, full)) => report.fail("kernel quota", full),
        Some((false, full)) => report.advice("kernel quota", full),
        None => {}
    }
    let mut first: Option<Settings> = None;
    for name in &helpers {
        let target = match config.target(ctx.env, name, None) {
            Ok(target) => target,
            Err(e) => {
                report.fail("profile", e.to_string());
                continue;
            }
        };
        report.ok(format!("profile `{name}`"), target.summary());
        keys(ctx, &target, report);
        program(ctx, config, name, report);
        if first.is_none() {
            first = Some(target.mfa().clone());
        }
    }
    if let Some(settings) = first {
        if let KeySource::SignIn { profile, endpoint } = &settings.keys {
            signin_endpoint(ctx, &settings, profile, endpoint.as_deref(), report);
        }
        clock(ctx, &settings, report);
        let session = Target::Session(settings.clone());
        let cached = ctx
            .cache
            .cached(&session, ctx.clock.now())
            .ok()
            .flatten()
            .filter(|c| crate::cache::fresh_at(c, ctx.clock.now(), session.margin()));
        match prompt::choose(&settings, ctx.env, &mut *ctx.terminal) {
            Ok(source) => report.ok(
                "prompt",
                format!("from here a code would come from {}", source.name()),
            ),
            Err(why) => {
                let detail = format!(
                    "nothing could ask for a code from here: {why}. Run `aws-mfa-proc login {}` in a terminal, or set `aws_mfa_proc_prompt` or `mfa_process` in profile `{}`",
                    settings.profile, settings.profile
                );
                match cached {
                    // Served until it expires: only then does this matter.
                    Some(c) => report.advice(
                        "prompt",
                        format!(
                            "the session lasts until {}; then {detail}",
                            crate::credentials::iso8601(c.expiration)
                        ),
                    ),
                    None => report.fail("prompt", detail),
                }
            }
        }
    }
}

fn keys(ctx: &Ctx<'_>, target: &Target, report: &mut Report) {
    let KeySource::Keychain(name) = &target.mfa().keys else {
        return;
    };
    let check = format!("keys `{name}`");
    match ctx.cache.keys(name) {
        Ok(Lookup::Found(keys)) => match &keys.rotated_from {
            Some(old) => report.fail(
                check,
                format!("a rotation stopped half-way: {} is stored, the old key {old} may still exist. Run `aws-mfa-proc rotate {name}` to finish it", keys.access_key_id),
            ),
            None => report.ok(check, format!("{} is stored", keys.access_key_id)),
        },
        Ok(Lookup::Missing) => report.fail(check, format!("no keys are stored: run `aws-mfa-proc add {name}`")),
        Ok(Lookup::Unreadable(damage)) => report.fail(check, format!("unreadable ({damage}): run `aws-mfa-proc add {name}`")),
        Err(e) => report.fail(check, e.to_string()),
    }
}

/// The credential_process program: found, and by an absolute path; on Windows, read
/// the same way by botocore as by `cmd /C`.
fn program(ctx: &Ctx<'_>, config: &Config, name: &str, report: &mut Report) {
    let Some(line) = config.credential_process(name) else {
        return;
    };
    let Some(program) = command_words(line).and_then(|w| w.into_iter().next()) else {
        return;
    };
    let check = format!("credential_process `{name}`");
    if cfg!(windows)
        && let Some(advice) = botocore_advice(name, line)
    {
        report.advice(check.clone(), advice);
    }
    if Path::new(&program).is_absolute() {
        match executable(Path::new(&program)) {
            Some(found) => report.ok(check, format!("{} exists", found.display())),
            None => report.fail(
                check,
                format!("{program} does not exist: reinstall, or fix the path"),
            ),
        }
        return;
    }
    match find_on_path(ctx, &program) {
        Some(found) => report.advice(
            check,
            format!("`{program}` is found on this shell's PATH ({}), but IDEs and cron may not have that PATH: write `credential_process = {} …`", found.display(), found.display()),
        ),
        None => report.fail(check, format!("`{program}` is not on PATH: write its absolute path")),
    }
}

/// What to do where botocore (the AWS CLI v1, boto3) reads profile `name`'s Windows
/// line differently from `cmd /C` (the Go, JS, Java and Rust SDKs).
fn botocore_advice(name: &str, line: &str) -> Option<String> {
    let why = botocore_differs(line)?;
    Some(format!(
        "the AWS CLI v1 and boto3 read this line differently ({why}): in profile `{name}`, write the program's full path in double quotes and drop ^, %, & and | from credential_process"
    ))
}

/// The file a program path names: itself, or with `.exe` added where Windows adds it.
fn executable(path: &Path) -> Option<PathBuf> {
    let exe = std::env::consts::EXE_SUFFIX;
    let with_suffix =
        (!exe.is_empty() && path.extension().is_none()).then(|| path.with_extension(&exe[1..]));
    std::iter::once(path.to_path_buf())
        .chain(with_suffix)
        .find(|p| p.is_file())
}

fn find_on_path(ctx: &Ctx<'_>, program: &str) -> Option<PathBuf> {
    let path = ctx.env.var("PATH")?;
    std::env::split_paths(&path).find_map(|d| executable(&d.join(program)))
}

/// Both binaries, next to each other.
fn binaries(report: &mut Report) {
    let Ok(exe) = std::env::current_exe() else {
        return report.fail("binaries", "cannot tell where aws-mfa-proc runs from");
    };
    let missing: Vec<String> = ["aws-mfa-proc", "aws-mfa-proc-full"]
        .iter()
        .map(|b| exe.with_file_name(format!("{b}{}", std::env::consts::EXE_SUFFIX)))
        .filter(|p| !p.is_file())
        .map(|p| p.display().to_string())
        .collect();
    match missing.as_slice() {
        [] => report.ok(
            "binaries",
            format!(
                "aws-mfa-proc and aws-mfa-proc-full are both in {}",
                exe.parent().unwrap_or(&exe).display()
            ),
        ),
        _ => report.fail(
            "binaries",
            format!(
                "missing: {}; reinstall with `cargo install --locked --path .`",
                missing.join(", ")
            ),
        ),
    }
}

/// A sign-in profile's endpoint answers (a bounded request), and its clock agrees with
/// this one: the DPoP proof of every token call carries this machine's time.
fn signin_endpoint(
    ctx: &Ctx<'_>,
    settings: &Settings,
    profile: &str,
    named: Option<&str>,
    report: &mut Report,
) {
    let place = match crate::signin::place::place(ctx.env, profile, &settings.region, named) {
        Ok(place) => place,
        Err(e) => return report.fail("sign-in endpoint", e.to_string()),
    };
    let url = place.endpoint.clone().unwrap_or_default();
    match ctx.aws.server_time(&place) {
        Err(e) => report.fail(
            "sign-in endpoint",
            format!("{url} does not answer ({e}); check the network, a proxy, or AWS_ENDPOINT_URL_SIGNIN"),
        ),
        Ok(server) => {
            let skew = (ctx.clock.now() - server).num_seconds();
            let detail = format!("{url} answers; this clock is {skew:+} s from its clock");
            match skew.abs() {
                0..=60 => report.ok("sign-in endpoint", detail),
                _ => report.fail("sign-in endpoint", format!("{detail}: the service refuses proofs of another time. Fix the clock (enable NTP)")),
            }
        }
    }
}

/// This machine's clock against STS's.
fn clock(ctx: &Ctx<'_>, settings: &Settings, report: &mut Report) {
    let place = Place {
        region: settings.region.clone(),
        endpoint: settings
            .endpoint
            .clone()
            .or_else(|| env_endpoint(ctx.env, "STS")),
    };
    match ctx.aws.server_time(&place) {
        Err(e) => report.fail("clock", format!("cannot ask STS for the time: {e}")),
        Ok(server) => {
            let skew = (ctx.clock.now() - server).num_seconds();
            let detail = format!("this clock is {skew:+} s from STS's");
            match skew.abs() {
                0..=60 => report.ok("clock", detail),
                61..=300 => report.advice("clock", format!("{detail}: enable NTP before it grows")),
                _ => report.fail("clock", format!("{detail}: AWS refuses requests signed this far off. Fix the clock (enable NTP)")),
            }
        }
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_windows_line_botocore_reads_differently_is_named_with_its_fix() {
        for (line, warned) in [
            (r"C:\Tools\aws-mfa-proc.exe --profile mfa", false),
            (r#""C:\My Tools\aws-mfa-proc.exe" --profile mfa"#, false),
            (r"%LOCALAPPDATA%\aws-mfa-proc.exe --profile mfa", true),
            ("aws-mfa-proc --profile mfa 2>NUL", true),
            (r#""C:\My Tools\aws-mfa-proc.exe --profile mfa"#, true),
        ] {
            let advice = botocore_advice("mfa", line);
            assert_eq!(advice.is_some(), warned, "{line}: {advice:?}");
            if let Some(advice) = advice {
                assert!(advice.contains("profile `mfa`"), "{advice}");
            }
        }
    }
}
