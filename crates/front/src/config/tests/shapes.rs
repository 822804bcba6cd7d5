use super::*;
use proptest::prelude::*;

/// One profile `team-{i}` in one of the benchmark's shapes.
fn profile(i: usize, shape: u8) -> String {
    let serial = format!("mfa_serial = arn:aws:iam::111111111111:mfa/u{i}\n");
    match shape {
        0 => format!("[profile team-{i}]\nregion = eu-west-1\noutput = json\n"),
        1 => format!(
            "[profile team-{i}]\ncredential_process = aws-mfa-proc --profile team-{i}\n{serial}"
        ),
        2 => format!(
            "[profile team-{i}]\ncredential_process = granted credential-process --profile team-{i}\n{serial}"
        ),
        3 => {
            format!("[profile team-{i}]\nrole_arn = arn:aws:iam::1:role/R\nsource_profile = mfa\n")
        }
        4 => format!(
            "# {}\n[profile team-{i}]\n; {}\nregion = eu-west-1\n",
            "c".repeat(200),
            "c".repeat(200)
        ),
        5 => format!(
            "[profile team-{i}]\ns3 =\n  max_concurrent_requests = 20\n  addressing_style = path\nregion = eu-west-1\n"
        ),
        _ => format!("[profile team-{i}]\ncredential_process = aws-mfa-proc\n{serial}"),
    }
}

proptest! {
    /// Whatever the shape, the line endings and where the wanted profile sits, the
    /// cached path answers as the full loader, named and bare.
    #[test]
    fn the_scan_answers_as_the_sdk_parser_on_every_benchmark_shape(
        shapes in prop::collection::vec(0u8..7, 0..40),
        at in 0usize..41,
        crlf in any::<bool>(),
        bare in any::<bool>(),
    ) {
        let mfa = format!(
            "[profile mfa]\ncredential_process = aws-mfa-proc{}\nmfa_serial = arn:aws:iam::111111111111:mfa/alice\n",
            if bare { "" } else { " --profile mfa" }
        );
        let mut sections: Vec<String> =
            shapes.iter().enumerate().map(|(i, s)| profile(i, *s)).collect();
        sections.insert(at.min(sections.len()), mfa);
        let mut config = sections.join("\n");
        if crlf {
            config = config.replace('\n', "\r\n");
        }
        let (_dir, env) = setup(&config, "");
        let full = Config::load(&env).unwrap();
        let answer = |profile: &str| full.target(&env, profile, None).ok().map(|t| identity(&t));
        for profile in ["mfa", "team-0", "team-1", "nowhere"] {
            prop_assert_eq!(fast_target(&env, profile, None).map(|t| identity(&t)), answer(profile), "{}", profile);
        }
        let bare_answer = full.choose_profile(None).ok().and_then(|p| answer(&p));
        prop_assert_eq!(only_helper(&env).map(|t| identity(&t)), bare_answer);
    }
}
