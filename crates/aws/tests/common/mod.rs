//! What the wire tests share: the SDK configuration pointed at moto, unique names.
// Each test binary compiles this module and uses a different part of it.
#![allow(dead_code)]

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// moto's URL, from `MOTO_ENDPOINT` (set by `.ci/run`, which starts moto).
pub fn moto() -> String {
    std::env::var("MOTO_ENDPOINT")
        .expect("set MOTO_ENDPOINT=http://127.0.0.1:PORT (bash .ci/run starts moto server)")
}

/// An SDK configuration for moto: fixed test credentials, us-east-1.
pub async fn config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "wire-test"))
        .load()
        .await
}

/// A name no other call makes, in this run or another (moto keeps state between runs
/// and the tests of one binary share it): `<base>-<pid>-<n>`.
pub fn unique(base: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{base}-{}-{n}", std::process::id())
}

/// Creates a one-state machine in moto (it never runs anything) and returns its ARN.
pub async fn state_machine(config: &SdkConfig, base: &str) -> String {
    aws_sdk_sfn::Client::new(config)
        .create_state_machine()
        .name(unique(base))
        .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/sfn")
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string()
}

/// Creates a bucket named after `base` (unique to this process) and returns its name.
pub async fn bucket(config: &SdkConfig, base: &str) -> String {
    let name = unique(base);
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(true)
            .build(),
    )
    .create_bucket()
    .bucket(&name)
    .send()
    .await
    .unwrap();
    name
}
