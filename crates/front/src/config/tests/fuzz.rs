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
            .map(|line| {
                // A comment line is only cut, never looked into.
                let comment = line.starts_with(['#', ';']);
                let equals = line.find('=').filter(|_| !comment);
                (line.to_string(), equals, line.contains(['#', ';']))
            })
            .collect();
        prop_assert_eq!(found, expected);
    }
}
