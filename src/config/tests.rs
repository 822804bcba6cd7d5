//! The full and the cached-path loaders, against each other and against bad input.

use super::fast::{Source, check, only_helper, target as fast_target};
use super::lines::{each_chunk, each_line};
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
    let padding: String = (0..4000).map(team).collect();
    let late = "\n[profile late]\ncredential_process = aws-mfa-proc --profile late\nmfa_serial = arn:aws:iam::111111111111:mfa/late\n";
    let config = format!(
        "[profile production]\nrole_arn = arn:aws:iam::2:role/R\nsource_profile = late\n{padding}{late}{padding}"
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

/// The sections of config text `text` that name `profile`, as the fast loader keeps them.
fn sections_of(text: &str, profile: &str) -> String {
    let source = Source::Memory {
        config: text.as_bytes(),
        credentials: b"",
    };
    check(&source, FileKind::Config)
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
    let text = "[profile mfa]\na = 1\n  nested = 2\n[profile mfa2]\nb = 2\n[default]\nc = 3\n[ profile mfa ] # again\nd = 4\n";
    let kept = sections_of(text, "mfa");
    assert_eq!(
        kept,
        "[profile mfa]\na = 1\n  nested = 2\n[ profile mfa ] # again\nd = 4\n"
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
        assert!(check(&source, FileKind::Config).is_none(), "{broken:?}");
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

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// Lines that look like AWS config, and lines that look like nothing.
    fn line() -> impl Strategy<Value = String> {
        let name = prop_oneof![Just("mfa".to_string()), "[a-z\\]\\[ \\x00-]{0,12}"];
        let value = prop_oneof![
            Just("arn:aws:iam::111111111111:mfa/alice".to_string()),
            Just("aws-mfa-proc --profile mfa --source-profile mfa".to_string()),
            "[0-9]{0,12}",
            "\\PC{0,64}",
            (0usize..5000).prop_map(|n| "x".repeat(n)),
        ];
        let key = prop_oneof![
            Just("mfa_serial"),
            Just("credential_process"),
            Just("region"),
            Just(DURATION_KEY),
            Just("source_profile"),
            Just("aws_access_key_id"),
            Just("aws_secret_access_key"),
            Just("endpoint_url"),
            Just("  nested"),
        ];
        prop_oneof![
            name.clone().prop_map(|n| format!("[profile {n}]")),
            name.prop_map(|n| format!("[{n}]")),
            (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
            "\\PC{0,80}",
            any::<String>(),
        ]
    }

    proptest! {
        /// Whatever the files say: settings or an error, never a panic, and an
        /// error message of bounded size on one line.
        #[test]
        fn any_config_gives_settings_or_a_clear_error(
            config in prop::collection::vec(line(), 0..30),
            credentials in prop::collection::vec(line(), 0..10),
            named in prop_oneof![Just(None), Just(Some("mfa".to_string())), any::<String>().prop_map(Some)],
        ) {
            let env = FakeEnv::default();
            let dir = tempfile::tempdir().unwrap();
            let files = FakeEnv::default()
                .with("AWS_CONFIG_FILE", dir.path().join("c").to_str().unwrap())
                .with("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("k").to_str().unwrap());
            std::fs::write(dir.path().join("c"), config.join("\n")).unwrap();
            std::fs::write(dir.path().join("k"), credentials.join("\n")).unwrap();
            // Where the whole file parses, reading only the needed sections agrees.
            if let (Some(fast), Ok(all)) = (fast_target(&files, "mfa", None), Config::load(&files)) {
                let full = all.target(&files, "mfa", None);
                prop_assert!(full.is_ok(), "fast path accepted what the full path refuses");
                prop_assert_eq!(identity(&fast), identity(&full.unwrap()));
            }
            match Config::parse(paths(), config.join("\n"), &credentials.join("\n")) {
                Err(e) => prop_assert!(!e.to_string().contains('\n')),
                Ok(cfg) => {
                    let _ = cfg.helper_profiles();
                    if let Ok(profile) = cfg.choose_profile(named.as_deref())
                        && let Err(e) = cfg.settings(&env, &profile, None)
                    {
                        prop_assert!(e.to_string().len() < 2000);
                    }
                }
            }
        }
    }

    /// Lines around helper profiles: program paths with spaces, extra arguments,
    /// keys in other cases, comments, continuations, default sections.
    fn helper_line() -> impl Strategy<Value = String> {
        let name = prop_oneof![
            Just("mfa"),
            Just("other"),
            Just("default"),
            Just("a b"),
            Just("x]"),
        ];
        let program = prop_oneof![
            Just("aws-mfa-proc"),
            Just("/usr/local/bin/aws-mfa-proc"),
            Just("\"/opt/My Tools/aws-mfa-proc\""),
            Just("'/opt/My Tools/aws-mfa-proc'"),
            Just("/opt/My\\ Tools/aws-mfa-proc"),
            Just("\"/opt/My Tools/aws-mfa-proc"),
            Just("aws-vault export --format=json"),
            Just("aws-mfa-proc-full"),
        ];
        let args = prop_oneof![
            Just(""),
            Just(" --profile mfa"),
            Just(" --profile=other -v"),
            Just(" --source-profile keys"),
            Just(" # a comment"),
            Just(";not a comment"),
        ];
        let key = prop_oneof![
            Just("credential_process"),
            Just("Credential_Process"),
            Just("CREDENTIAL_PROCESS "),
            Just("credential_processes"),
            Just(" credential_process"),
        ];
        prop_oneof![
            (
                prop_oneof![
                    Just("profile "),
                    Just(""),
                    Just("profile  "),
                    Just("sso-session ")
                ],
                name.clone(),
                prop_oneof![Just(""), Just(" # c"), Just(" ]")]
            )
                .prop_map(|(prefix, n, tail)| format!("[{prefix}{n}]{tail}")),
            (key, program, args).prop_map(|(k, p, a)| format!("{k} = {p}{a}")),
            Just("mfa_serial = arn:aws:iam::111111111111:mfa/alice".to_string()),
            Just("  --profile mfa".to_string()),
            Just("# comment".to_string()),
            Just("".to_string()),
            Just("s3 =".to_string()),
            Just("  max_concurrent_requests = 2".to_string()),
            Just("  not a sub-property".to_string()),
            Just("region".to_string()),
        ]
    }

    proptest! {
        /// The bare call's streaming scan finds the only helper profile exactly when the
        /// full parser does, and then what it asks for is the same.
        #[test]
        fn the_scan_and_the_full_parser_agree_on_the_only_helper(
            config in prop::collection::vec(helper_line(), 0..24),
            credentials in prop::collection::vec(helper_line(), 0..6),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let files = FakeEnv::default()
                .with("AWS_CONFIG_FILE", dir.path().join("c").to_str().unwrap())
                .with("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("k").to_str().unwrap());
            std::fs::write(dir.path().join("c"), config.join("\n")).unwrap();
            std::fs::write(dir.path().join("k"), credentials.join("\n")).unwrap();
            let fast = only_helper(&files);
            let full = Config::load(&files).ok().and_then(|all| {
                let profile = all.choose_profile(None).ok()?;
                all.target(&files, &profile, None).ok()
            });
            prop_assert_eq!(fast.as_ref().map(identity), full.as_ref().map(identity));
        }

        /// The streaming reader cuts lines exactly as `str::lines` does, whatever the
        /// line endings and wherever a read ends, and finds each line's first `=` and
        /// whether it holds a comment mark.
        #[test]
        fn streamed_lines_are_the_lines_of_the_text(
            text in "[a=#;\r\n ]{0,400}",
            read_size in prop_oneof![1usize..8, 8usize..512],
        ) {
            /// A reader that hands over at most `.1` bytes a call.
            struct Trickle<'a>(&'a [u8], usize);
            impl std::io::Read for Trickle<'_> {
                fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                    let n = self.1.min(out.len()).min(self.0.len());
                    out[..n].copy_from_slice(&self.0[..n]);
                    self.0 = &self.0[n..];
                    Ok(n)
                }
            }
            let mut found = Vec::new();
            let reader = Trickle(text.as_bytes(), read_size);
            each_chunk(reader, |chunk, _| {
                each_line(chunk, |span| {
                    let line = span.line(chunk);
                    found.push((line.text.to_string(), line.equals, line.marked));
                    true
                })
            })
            .unwrap();
            let expected: Vec<_> = (text.lines())
                .map(|line| (line.to_string(), line.find('='), line.contains(['#', ';'])))
                .collect();
            prop_assert_eq!(found, expected);
        }
    }
}
