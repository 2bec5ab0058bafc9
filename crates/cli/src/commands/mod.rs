//! One module per subcommand.

#[cfg(feature = "aws")]
pub mod aws_mode;
pub mod compare;
pub mod demo;
pub mod history;
pub mod invoke;
pub mod invoke_endpoint;
pub mod local_state;
pub mod redrive;
pub mod replay;
pub mod resume;
pub mod run;
pub mod run_file;
pub mod s3;
pub mod send_task;
pub mod status;
pub mod test_state;
pub mod validate;
pub mod wait;

/// The error of `--aws` in a build without the `aws` feature.
#[cfg(not(feature = "aws"))]
pub fn no_aws() -> crate::error::CliError {
    crate::error::CliError::Usage(
        "this weighbridge was built without AWS support; build it with `cargo build -p weighbridge --features aws` for --aws".into(),
    )
}
