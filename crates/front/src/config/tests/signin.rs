//! `aws_mfa_proc_source = sign-in` profiles, in both loaders.

use super::*;

const SIGN_IN_SEED: &str = "[profile signin]\ncredential_process = aws-mfa-proc --profile signin\naws_mfa_proc_source = sign-in\nregion = eu-west-1\n\n[profile production]\nrole_arn = arn:aws:iam::222222222222:role/R\nsource_profile = signin\n\n[profile tool]\ncredential_process = aws-mfa-proc --profile tool\naws_mfa_proc_role_arn = arn:aws:iam::222222222222:role/R\naws_mfa_proc_mfa_profile = signin\n";

#[test]
fn a_sign_in_profile_needs_no_keys_and_no_mfa_serial_in_either_loader() {
    let (_dir, env) = setup(SIGN_IN_SEED, "");
    let full = Config::load(&env)
        .unwrap()
        .target(&env, "signin", None)
        .unwrap();
    let fast = fast_target(&env, "signin", None).expect("the fast loader agrees");
    for target in [full, fast] {
        let Target::Session(s) = &target else {
            panic!("a session: {target:?}")
        };
        assert!(s.is_sign_in());
        assert!(
            matches!(&s.keys, KeySource::SignIn { profile, endpoint: None } if profile == "signin")
        );
        assert_eq!(s.region, "eu-west-1");
        assert_eq!(target.margin(), SIGNIN_MARGIN);
        assert_eq!(s.keys.id(), "signin/signin");
    }
    // A role the tool assumes itself chains from it, with the usual margin.
    let tool = fast_target(&env, "tool", None).unwrap();
    assert!(tool.mfa().is_sign_in());
    assert_eq!(tool.margin(), REFRESH_MARGIN);
}

#[test]
fn another_source_is_refused_naming_the_one_there_is() {
    let config = SIGN_IN_SEED.replace("sign-in", "sso");
    let (_dir, env) = setup(&config, "");
    let err = Config::load(&env)
        .unwrap()
        .target(&env, "signin", None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`aws_mfa_proc_source = sso`"), "{err}");
    assert!(err.contains("aws_mfa_proc_source = sign-in"), "{err}");
}
