//! rust_sdk_check: resolves credentials for a profile with the AWS SDK for Rust
//! (aws-config's default chain: shared config, role profiles, credential_process), calls
//! STS GetCallerIdentity and prints the Arn on stdout. On failure it prints the error on
//! stderr and exits 1. The e2e tests (tests/e2e/sdks.rs) run it as a real caller.
//!
//! The profile is AWS_PROFILE's, or the first argument. The SDK reads AWS_CONFIG_FILE,
//! AWS_REGION and AWS_ENDPOINT_URL (also for the STS client of a role profile's
//! AssumeRole) itself.
//!
//! ```sh
//! cargo run --example rust_sdk_check -- production
//! ```

use aws_config::BehaviorVersion;
use aws_sdk_sts::error::DisplayErrorContext;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("start a Tokio runtime");
    match runtime.block_on(caller_arn(std::env::args().nth(1))) {
        Ok(arn) => println!("{arn}"),
        Err(error) => {
            eprintln!("rust_sdk_check: {error}");
            std::process::exit(1);
        }
    }
}

async fn caller_arn(profile: Option<String>) -> Result<String, String> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = profile {
        loader = loader.profile_name(profile);
    }
    let config = loader.load().await;
    let identity = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        // The whole chain of causes: the SDK's Display of an error is one word.
        .map_err(|e| format!("GetCallerIdentity: {}", DisplayErrorContext(&e)))?;
    identity
        .arn
        .ok_or_else(|| "GetCallerIdentity returned no Arn".to_owned())
}
