//! The full and the cached-path loaders, against each other and against bad input.

use super::cut::{each_chunk, each_line};
use super::fast::{Source, check, only_helper, target as fast_target};
use super::*;
use crate::system::FakeEnv;

mod signin;

fn paths() -> Paths {
    Paths {
        config: "config".into(),
        credentials: "credentials".into(),
    }
}

fn setup(config: &str, credentials: &str) -> (tempfile::TempDir, FakeEnv) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config"), config).unwrap();
    std::fs::write(dir.path().join("credentials"), credentials).unwrap();
    let env = FakeEnv::default()
        .with(
            "AWS_CONFIG_FILE",
            dir.path().join("config").to_str().unwrap(),
        )
        .with(
            "AWS_SHARED_CREDENTIALS_FILE",
            dir.path().join("credentials").to_str().unwrap(),
        );
    (dir, env)
}

const SEED: &str = "[profile mfa]\ncredential_process = aws-mfa-proc --profile mfa\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\nregion = eu-west-1\n\n[profile production]\nrole_arn = arn:aws:iam::222222222222:role/R\nsource_profile = mfa\n";

#[test]
fn reads_the_seed_layout_with_defaults() {
    let (_dir, env) = setup(SEED, "");
    let config = Config::load(&env).unwrap();
    let s = config.settings(&env, "mfa", None).unwrap();
    assert_eq!(s.mfa_serial, "arn:aws:iam::111111111111:mfa/alice");
    assert_eq!(s.region, "eu-west-1");
    assert_eq!(s.duration, DEFAULT_DURATION);
    assert!(matches!(s.keys, KeySource::Keychain(ref n) if n == "mfa"));
    assert_eq!(s.endpoint, None);
}

#[test]
fn a_bare_call_picks_the_only_profile_that_runs_us() {
    let (_dir, env) = setup(SEED, "");
    let config = Config::load(&env).unwrap();
    assert_eq!(config.choose_profile(None).unwrap(), "mfa");
    let two = format!(
        "{SEED}\n[profile other]\ncredential_process = /usr/local/bin/aws-mfa-proc --profile other\n"
    );
    let (_dir, env) = setup(&two, "");
    let err = Config::load(&env)
        .unwrap()
        .choose_profile(None)
        .unwrap_err();
    assert!(err.to_string().contains("--profile"), "{err}");
}

#[test]
fn source_profile_on_the_credential_process_line_reads_static_keys() {
    let config = "[profile mfa]\ncredential_process = aws-mfa-proc --profile mfa --source-profile default\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\n";
    let creds = "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s3cr3t\n";
    let (_dir, env) = setup(config, creds);
    let s = Config::load(&env)
        .unwrap()
        .settings(&env, "mfa", None)
        .unwrap();
    match s.keys {
        KeySource::SharedProfile { profile, keys } => {
            assert_eq!(profile, "default");
            assert_eq!(keys.access_key_id, "AKIAEXAMPLE");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn endpoint_precedence_is_sts_variable_then_global_then_profile() {
    let config = SEED.replace(
        "region = eu-west-1\n",
        "region = eu-west-1\nendpoint_url = http://profile\n",
    );
    let (_dir, mut env) = setup(&config, "");
    let cfg = Config::load(&env).unwrap();
    let endpoint = |env: &FakeEnv| cfg.settings(env, "mfa", None).unwrap().endpoint;
    assert_eq!(endpoint(&env).as_deref(), Some("http://profile"));
    env = env.with("AWS_ENDPOINT_URL", "http://global");
    assert_eq!(endpoint(&env).as_deref(), Some("http://global"));
    env = env.with("AWS_ENDPOINT_URL_STS", "http://sts");
    assert_eq!(endpoint(&env).as_deref(), Some("http://sts"));
}

#[test]
fn bad_settings_name_the_profile_and_the_fix() {
    let cases = [
        ("[profile mfa]\nregion = eu-west-1\n", "mfa_serial"),
        ("[profile mfa]\nmfa_serial = alice\n", "9 to 256"),
        (
            "[profile mfa]\nmfa_serial = arn:aws:iam::1:user/alice\n",
            "MFA device",
        ),
        (
            "[profile mfa]\nmfa_serial = arn:aws:iam::111111111111:mfa/a\naws_mfa_proc_session_duration = 60\n",
            "1800 to 129600",
        ),
        (
            "[profile mfa]\nmfa_serial = arn:aws:iam::111111111111:mfa/a\nsource_profile = x\n",
            "Go SDK",
        ),
    ];
    for (config, expected) in cases {
        let (_dir, env) = setup(config, "");
        let err = Config::load(&env)
            .unwrap()
            .settings(&env, "mfa", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`mfa`"), "{err}");
        assert!(err.contains(expected), "{err} should mention {expected}");
    }
}

const ROLE: &str = "\n[profile prod]\ncredential_process = aws-mfa-proc --profile prod\naws_mfa_proc_role_arn = arn:aws:iam::222222222222:role/Admin\naws_mfa_proc_mfa_profile = mfa\n";

#[test]
fn a_built_in_role_profile_resolves_to_its_mfa_session() {
    let (_dir, env) = setup(&format!("{SEED}{ROLE}"), "");
    let config = Config::load(&env).unwrap();
    match config.target(&env, "prod", None).unwrap() {
        Target::Role(r) => {
            assert_eq!(r.role_arn, "arn:aws:iam::222222222222:role/Admin");
            assert_eq!(r.duration, MAX_ROLE_DURATION);
            assert_eq!(r.mfa.profile, "mfa");
            assert_eq!(r.region, "eu-west-1", "the MFA profile's region");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        config.target(&env, "mfa", None),
        Ok(Target::Session(_))
    ));
}

#[test]
fn a_role_longer_than_an_hour_is_refused_with_the_reason() {
    let config = format!("{SEED}{ROLE}aws_mfa_proc_role_duration = 7200\n");
    let (_dir, env) = setup(&config, "");
    let err = Config::load(&env)
        .unwrap()
        .target(&env, "prod", None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("role chaining") && err.contains("3600"),
        "{err}"
    );
}

#[test]
fn a_role_profile_that_names_itself_or_nothing_is_refused() {
    for (edit, expected) in [
        (
            "aws_mfa_proc_mfa_profile = mfa",
            "aws_mfa_proc_mfa_profile = prod",
        ),
        (
            "aws_mfa_proc_mfa_profile = mfa",
            "aws_mfa_proc_mfa_profile = nowhere",
        ),
        ("aws_mfa_proc_mfa_profile = mfa\n", ""),
    ] {
        let config = format!("{SEED}{}", ROLE.replace(edit, expected));
        let (_dir, env) = setup(&config, "");
        let err = Config::load(&env)
            .unwrap()
            .target(&env, "prod", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`prod`") && err.contains("aws_mfa_proc_mfa_profile"),
            "{err}"
        );
    }
}

/// The fields that say which credentials a target means.
fn identity(t: &Target) -> String {
    let mfa = t.mfa();
    let role = match t {
        Target::Role(r) => format!("{} {:?} {}", r.role_arn, r.duration, r.region),
        Target::Session(_) => String::new(),
    };
    format!(
        "{} {} {} {:?} {:?} {role}",
        t.profile(),
        mfa.mfa_serial,
        mfa.keys.id(),
        mfa.duration,
        mfa.endpoint
    )
}

#[test]
fn reading_only_the_needed_sections_gives_the_same_target_at_any_config_size() {
    let mut config = format!("{SEED}{ROLE}").replace(
        "credential_process = aws-mfa-proc --profile mfa",
        "credential_process = aws-mfa-proc --profile mfa --source-profile keys",
    );
    for i in 0..5000 {
        config.push_str(&format!(
            "\n[profile team-{i}]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = mfa\n"
        ));
    }
    config.push_str("\n[profile broken]\ncredential_process = aws-mfa-proc\nmfa_serial = x\n");
    let creds = "[keys]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n[other]\naws_access_key_id = AKIAOTHER\n";
    let (_dir, env) = setup(&config, creds);
    let full = Config::load(&env).unwrap();
    for profile in ["mfa", "prod", "team-1"] {
        let fast = fast_target(&env, profile, None).expect("resolves");
        assert_eq!(
            identity(&fast),
            identity(&full.target(&env, profile, None).unwrap())
        );
    }
    assert!(
        fast_target(&env, "broken", None).is_none(),
        "errors go the full way"
    );
    assert!(fast_target(&env, "nowhere", None).is_none());
}

#[test]
fn a_large_config_answers_as_the_full_loader_and_a_bad_line_at_either_end_stops_it() {
    // The helper sits in the middle of 8,000 profiles, read through many windows.
    let team = |i| {
        format!("\n[profile team-{i}]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = late\n")
    };
    let before: String = (0..4000).map(team).collect();
    let after: String = (4000..8000).map(team).collect();
    let late = "\n[profile late]\ncredential_process = aws-mfa-proc --profile late\nmfa_serial = arn:aws:iam::111111111111:mfa/late\n";
    let config = format!(
        "[profile production]\nrole_arn = arn:aws:iam::2:role/R\nsource_profile = late\n{before}{late}{after}"
    );
    let (_dir, env) = setup(&config, "");
    let full = Config::load(&env).unwrap();
    for profile in ["late", "production", "team-3999"] {
        let fast = fast_target(&env, profile, None).expect("resolves");
        assert_eq!(
            identity(&fast),
            identity(&full.target(&env, profile, None).unwrap())
        );
    }
    assert_eq!(
        only_helper(&env).map(|t| identity(&t)),
        Some(identity(&full.target(&env, "late", None).unwrap()))
    );
    for broken in [format!("oops\n{config}"), format!("{config}oops\n")] {
        let (_dir, env) = setup(&broken, "");
        assert!(
            fast_target(&env, "late", None).is_none(),
            "{:?}",
            &broken[..8]
        );
        assert!(only_helper(&env).is_none());
    }
}

#[test]
fn the_scan_takes_the_lines_it_reads_fast_as_the_sdk_parser_does() {
    // Sub-properties, continued values and headers: each has a fast path in the scan.
    let cases = [
        "[profile a]\ns3 =\n  max_concurrent_requests = 20\n\taddressing_style=path\n",
        "[profile a]\ns3 =\n  = 20\n",
        "[profile a]\ns3 =\n  no_value\n",
        "[profile a]\ns3 =\n   \nregion = x\n",
        "[profile a]\ns3 = # a comment\n  max = 1\n",
        "[profile a]\ns3 =\n  max # = 1\n",
        "[profile a]\nregion = eu-west-1\n  the rest of the value\n",
        "[profile a]\n  max = 1\n",
        "  max = 1\n[profile a]\n",
        "[profile a]\nregion = x\n[profile a]\n",
        "[profile a]\n[profile  a ]\n",
        "[profile a]\n[a]\n[sso-session a]\n",
        "[profile a] # a comment\n[profile a]\n",
        "[profile a]]\n[profile a]\n",
        "[profile \u{e9}]\n[profile \u{e9}]\n",
    ];
    for text in cases {
        let source = Source::Memory {
            config: text.as_bytes(),
            credentials: b"",
        };
        let full = Config::parse(paths(), text.to_string(), "").is_ok();
        assert_eq!(
            check(&source, FileKind::Config, false).is_some(),
            full,
            "{text:?}"
        );
    }
}

/// The sections of config text `text` that name `profile`, as the fast loader keeps them.
fn sections_of(text: &str, profile: &str) -> String {
    let source = Source::Memory {
        config: text.as_bytes(),
        credentials: b"",
    };
    check(&source, FileKind::Config, true)
        .unwrap()
        .sections(&[profile.to_string()])
        .unwrap()
}

#[test]
fn a_header_cut_by_the_read_buffer_is_still_found() {
    for pad in [65_530, 65_536, 65_540, 131_070] {
        let filler = format!("[profile filler]\nk = {}\n", "x".repeat(pad));
        let text = format!("{filler}[profile mfa]\na = 1\n[profile other]\nb = 2");
        let kept = sections_of(&text, "mfa");
        assert_eq!(kept, "[profile mfa]\na = 1\n", "pad {pad}");
    }
}

#[test]
fn only_sections_whose_header_names_a_wanted_profile_are_kept() {
    let text = "[profile mfa]\na = 1\n  nested = 2\n[profile mfa2]\nb = 2\n[default]\nc = 3\n[ mfa ] # again\nd = 4\n";
    let kept = sections_of(text, "mfa");
    assert_eq!(
        kept,
        "[profile mfa]\na = 1\n  nested = 2\n[ mfa ] # again\nd = 4\n"
    );
    // A line anywhere that the SDK would not parse: no answer (the full loader says which).
    for broken in [
        "top = 1\n",
        "[profile open\n",
        "[profile x]\nno equals sign\n",
        "[profile x]\n  orphan\n",
    ] {
        let source = Source::Memory {
            config: format!("{broken}{text}").into_bytes().leak(),
            credentials: b"",
        };
        assert!(
            check(&source, FileKind::Config, true).is_none(),
            "{broken:?}"
        );
    }
}

#[test]
fn an_unknown_profile_lists_the_ones_that_exist() {
    let (_dir, env) = setup(SEED, "");
    let err = Config::load(&env)
        .unwrap()
        .settings(&env, "prod", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`prod`") && err.contains("mfa"), "{err}");
}

#[test]
fn a_malformed_or_binary_file_is_an_error_naming_it() {
    let (_dir, env) = setup("[profile mfa\nmfa_serial = x\n", "");
    assert!(matches!(
        Config::load(&env),
        Err(ConfigError::Malformed { .. })
    ));
    let (dir, env) = setup("", "");
    std::fs::write(dir.path().join("config"), b"\xff\xfe[profile]").unwrap();
    assert!(matches!(
        Config::load(&env),
        Err(ConfigError::NotText { .. })
    ));
}

#[test]
fn a_megabyte_mfa_serial_is_an_error_not_a_panic() {
    let config = format!(
        "[profile mfa]\nmfa_serial = arn:aws:iam::111111111111:mfa/{}\n",
        "a".repeat(1 << 20)
    );
    let env = FakeEnv::default();
    let config = Config::parse(paths(), config, "").unwrap();
    let err = config.settings(&env, "mfa", None).unwrap_err().to_string();
    assert!(
        err.contains("9 to 256") && err.len() < 400,
        "{}",
        &err[..200]
    );
}

mod fuzz;

/// Audit #17, item 10: one profile under two headers in one file resolves in hash order,
/// so it changes from run to run.
#[test]
fn one_section_written_twice_is_refused_naming_both_lines() {
    // (config, credentials, the lines named, the file named)
    let cases = [
        (
            "[profile x]\na = 1\n[profile x]\nb = 2\n",
            "",
            (1, 3),
            "config",
        ),
        (
            "[profile x]\na = 1\n\n[profile  x]\nb = 2\n",
            "",
            (1, 4),
            "config",
        ),
        (
            "[profile x]\na = 1\n[profile\tx ] # again\nb = 2\n",
            "",
            (1, 3),
            "config",
        ),
        (
            "[default]\na = 1\r\n[default]\r\nb = 2\n",
            "",
            (1, 3),
            "config",
        ),
        (
            "",
            "[keys]\na = 1\n[ keys ]\nb = 2\n",
            (1, 3),
            "credentials",
        ),
    ];
    for (config, credentials, (first, second), file) in cases {
        let err = Config::parse(paths(), config.into(), credentials)
            .err()
            .unwrap_or_else(|| panic!("accepted {config:?} {credentials:?}"))
            .to_string();
        let both = format!("{file}:{first} and {file}:{second}");
        assert!(err.contains(&both) && !err.contains('\n'), "{err}");
        // The cached path leaves it to the full loader.
        let source = Source::Memory {
            config: config.as_bytes(),
            credentials: credentials.as_bytes(),
        };
        assert!(crate::config::fast::target_in(&source, &FakeEnv::default(), "x", None).is_none());
        assert!(crate::config::fast::only_helper_in(&source, &FakeEnv::default()).is_none());
    }
    // One profile in both files, or under two kinds of header, is fine.
    for (config, credentials) in [
        (SEED, "[mfa]\nregion = eu-west-1\n"),
        ("[default]\na = 1\n[profile default]\nb = 2\n", ""),
        ("[profile x]\na = 1\n[sso-session x]\nb = 2\n", ""),
    ] {
        assert!(
            Config::parse(paths(), config.into(), credentials).is_ok(),
            "{config}"
        );
    }
}

/// Audit #17, item 4: botocore (the AWS CLI, boto3) reads `[profile dev!]` and
/// `[profile "dev sandbox"]`, which the Rust SDK skips; a bare call from one of them
/// must not be answered with another profile's session.
#[test]
fn a_bare_call_counts_the_sections_botocore_reads_that_the_sdk_skips() {
    let prod = "[profile prod]\ncredential_process = aws-mfa-proc\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\n";
    for (extra, credentials) in [
        ("[profile dev!]\ncredential_process = aws-mfa-proc\n", ""),
        (
            "[profile \"dev sandbox\"]\ncredential_process = aws-mfa-proc\n",
            "",
        ),
        (
            "",
            "[dev sandbox]\ncredential_process = /usr/bin/aws-mfa-proc\n",
        ),
        ("[DEFAULT]\ncredential_process = aws-mfa-proc\n", ""),
    ] {
        let config = format!("{prod}{extra}");
        let (_dir, env) = setup(&config, credentials);
        assert!(only_helper(&env).is_none(), "{extra}{credentials}");
        let full = Config::load(&env).unwrap();
        let err = full.choose_profile(None).unwrap_err().to_string();
        assert!(
            err.contains("several profiles") && err.contains("prod"),
            "{err}"
        );
        let findings: Vec<String> = full.findings().into_iter().map(|f| f.text).collect();
        assert!(
            findings.iter().any(|f| f.contains("botocore")),
            "status and doctor name it: {findings:?}"
        );
    }
    // Alone, a section the SDK skips is named, not served as another profile.
    let (_dir, env) = setup("[profile dev!]\ncredential_process = aws-mfa-proc\n", "");
    assert!(only_helper(&env).is_none());
    let full = Config::load(&env).unwrap();
    let profile = full.choose_profile(None).unwrap();
    let err = full.target(&env, &profile, None).unwrap_err().to_string();
    assert!(
        err.contains("[profile dev!]") && err.contains("Rust SDK") && err.contains("rename"),
        "{err}"
    );
    // One helper and other programs' lines: served as before.
    let config = format!(
        "{prod}[profile dev!]\ncredential_process = granted credential-process --profile dev\n"
    );
    let (_dir, env) = setup(&config, "");
    assert_eq!(
        only_helper(&env).map(|t| t.profile().to_string()),
        Some("prod".into())
    );
}

/// The config shapes of the cached-path benchmark (`bench/cached-path.sh`), small.
mod shapes;
