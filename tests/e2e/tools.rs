//! Steps shared by roles.rs, direnv.rs and exec.rs: the built-in-role config, the JS
//! SDK v2 clients (aws-sdk v2, Serverless v3) pointed at moto, and exec's private files.

use std::path::PathBuf;
use std::process::Command;

use crate::rig::Rig;
use crate::support::*;

/// The layout with a role that aws-mfa-proc assumes and caches itself.
pub const BUILT_IN_ROLE_CONFIG: &str = "\
[profile mfa]
credential_process = aws-mfa-proc --profile mfa
mfa_serial = arn:aws:iam::111111111111:mfa/alice
region = eu-west-1

[profile production]
credential_process = aws-mfa-proc --profile production
aws_mfa_proc_role_arn = arn:aws:iam::222222222222:role/Admin
aws_mfa_proc_mfa_profile = mfa
region = eu-west-1
";

/// Stored keys (as [`configured`]) and [`BUILT_IN_ROLE_CONFIG`].
pub fn configured_with_built_in_role(rig: &Rig) {
    configured(rig);
    rig.write_config(BUILT_IN_ROLE_CONFIG);
}

/// The npm prefix of the clients on the JS SDK v2 (aws-sdk v2, serverless@3), beside
/// the rig's own `node` prefix.
pub fn js_v2_prefix(rig: &Rig) -> PathBuf {
    let prefix = rig.node_dir().with_file_name("node-sls3");
    let modules = prefix.join("node_modules");
    for needed in ["aws-sdk", "serverless"] {
        assert!(
            modules.join(needed).is_dir(),
            "{} missing: run scripts/install-test-deps.sh",
            modules.join(needed).display()
        );
    }
    prefix
}

/// Serverless Framework v3's own `sls`, called by path (osls on PATH is another `sls`).
pub fn serverless_v3(rig: &Rig) -> PathBuf {
    js_v2_prefix(rig).join("node_modules/.bin/sls")
}

/// Lets `cmd` (node, or something that runs node) use the JS SDK v2 against moto: it
/// ignores AWS_ENDPOINT_URL, so a `--require`d preload sets the endpoint of every client
/// (also those it makes itself, such as the STS client of a role profile).
pub fn js_v2_against_moto<'c>(rig: &Rig, cmd: &'c mut Command) -> &'c mut Command {
    let sdk = js_v2_prefix(rig).join("node_modules/aws-sdk");
    let preload = rig.dir().join("js-v2-endpoint.js");
    std::fs::write(
        &preload,
        format!(
            "require({sdk:?}).config.update({{ endpoint: {:?} }});\n",
            rig.moto_url()
        ),
    )
    .unwrap();
    cmd.env("NODE_PATH", js_v2_prefix(rig).join("node_modules"))
        .env("NODE_OPTIONS", format!("--require {}", preload.display()))
        .env("AWS_SDK_LOAD_CONFIG", "1")
}

/// `aws-mfa-proc`'s runtime directory, where exec writes its private credentials files.
pub fn runtime_dir(rig: &Rig) -> PathBuf {
    rig.dir().join("run/aws-mfa-proc")
}

/// The `exec-<pid>.credentials` files in the runtime directory.
pub fn exec_credentials_files(rig: &Rig) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(runtime_dir(rig)) else {
        return Vec::new();
    };
    entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy();
            name.starts_with("exec-") && name.ends_with(".credentials")
        })
        .collect()
}

/// Panics naming any `exec-<pid>.credentials` file left in the runtime directory.
pub fn assert_no_exec_credentials_file(rig: &Rig) {
    let left = exec_credentials_files(rig);
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// How many recorded requests to moto were `Action=<action>` calls.
pub fn calls_to(recorded: &str, action: &str) -> usize {
    let needle = format!(" Action={action}&");
    recorded
        .lines()
        .filter(|line| line.contains(&needle))
        .count()
}

/// Deletes moto's request recording: requests signed with the MFA session carry its
/// token, and the leak audit would rightly flag the file at the end of the test.
pub fn forget_moto_recording(rig: &Rig) {
    let _ = std::fs::remove_file(rig.dir().join("moto/recording.jsonl"));
}

/// Keys of moto's administrator, for the test's own IAM calls.
const ADMIN_ID: &str = "AKIAMOTOADMINISTRATO";
const ADMIN_SECRET: &str = "motoAdministratorSecretNotAUsers";

/// `aws ARGS --output json` as moto's administrator; the parsed answer (null if none).
pub fn admin(rig: &Rig, args: &[&str]) -> serde_json::Value {
    let out = run(rig
        .command("aws")
        .args(args)
        .args(["--output", "json"])
        .env("AWS_ACCESS_KEY_ID", ADMIN_ID)
        .env("AWS_SECRET_ACCESS_KEY", ADMIN_SECRET));
    assert!(out.status.success(), "aws {args:?}: {}", text(&out.stderr));
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// An IAM user in moto with an access key and virtual MFA devices.
pub struct IamUser {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// (serial, Base32 seed) of each device, in order of creation.
    pub devices: Vec<(String, String)>,
}

/// IAM user `alice` with one access key and a virtual MFA device per name in `devices`,
/// enabled with codes from `oathtool`.
pub fn iam_user_alice(rig: &Rig, devices: &[&str]) -> IamUser {
    admin(rig, &["iam", "create-user", "--user-name", "alice"]);
    let key = admin(rig, &["iam", "create-access-key", "--user-name", "alice"]);
    let mut made = Vec::new();
    for name in devices {
        let seed_file = rig.dir().join(format!("{name}.seed"));
        let device = admin(
            rig,
            &[
                "iam",
                "create-virtual-mfa-device",
                "--virtual-mfa-device-name",
                name,
                "--outfile",
                seed_file.to_str().unwrap(),
                "--bootstrap-method",
                "Base32StringSeed",
            ],
        );
        let serial = device["VirtualMFADevice"]["SerialNumber"]
            .as_str()
            .unwrap()
            .to_string();
        let seed = std::fs::read_to_string(&seed_file)
            .unwrap()
            .trim()
            .to_string();
        let (now, next) = (totp(&seed, "now"), totp(&seed, "now + 30 seconds"));
        admin(
            rig,
            &[
                "iam",
                "enable-mfa-device",
                "--user-name",
                "alice",
                "--serial-number",
                &serial,
                "--authentication-code1",
                &now,
                "--authentication-code2",
                &next,
            ],
        );
        made.push((serial, seed));
    }
    IamUser {
        access_key_id: key["AccessKey"]["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_string(),
        secret_access_key: key["AccessKey"]["SecretAccessKey"]
            .as_str()
            .unwrap()
            .to_string(),
        devices: made,
    }
}

/// The TOTP code of `seed` at `when` (a `date` expression), from `oathtool`.
pub fn totp(seed: &str, when: &str) -> String {
    let out = run(Command::new("oathtool").args(["--totp", "-b", "-N", when, seed]));
    assert!(out.status.success(), "oathtool: {}", text(&out.stderr));
    text(&out.stdout).trim().to_string()
}

/// alice's access key IDs, as IAM lists them.
pub fn access_keys_of_alice(rig: &Rig) -> Vec<String> {
    let listed = admin(rig, &["iam", "list-access-keys", "--user-name", "alice"]);
    listed["AccessKeyMetadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["AccessKeyId"].as_str().unwrap().to_string())
        .collect()
}
