//! Weighbridge's ports on the AWS SDK for Rust. Each adapter turns a port call into SDK
//! calls and SDK errors into [`PortError`]s; no SDK type leaves this crate.
//!
//! Clients come from `aws_config`, so the usual configuration applies: credentials
//! chain, region, profiles, and `AWS_ENDPOINT_URL` (how the wire tests point the
//! adapters at moto server).
#![warn(missing_docs)]

mod autoscaling;
mod cloudwatch;
mod errors;
mod registry;
mod runtime;
mod s3;
mod sagemaker;
mod sfn;

pub use autoscaling::ApplicationAutoScaling;
pub use cloudwatch::CloudWatchMetrics;
pub use runtime::SageMakerRuntime;
pub use s3::S3Store;
pub use sagemaker::SageMakerControl;
pub use sfn::StepFunctions;

/// Every adapter, built from one shared SDK configuration.
#[derive(Clone, Debug)]
pub struct AwsPorts {
    /// SageMaker's control plane.
    pub sagemaker: SageMakerControl,
    /// Application Auto Scaling.
    pub autoscaling: ApplicationAutoScaling,
    /// SageMaker Runtime (InvokeEndpoint).
    pub runtime: SageMakerRuntime,
    /// S3.
    pub s3: S3Store,
    /// CloudWatch metrics.
    pub cloudwatch: CloudWatchMetrics,
    /// Step Functions.
    pub sfn: StepFunctions,
    /// The configured region (image URIs are per region).
    pub region: String,
}

impl AwsPorts {
    /// The adapters as the entrypoint layer's ports bundle.
    pub fn ports(&self) -> weighbridge_tasks::functions::Ports<'_> {
        weighbridge_tasks::functions::Ports {
            sagemaker: &self.sagemaker,
            autoscaling: &self.autoscaling,
            runtime: &self.runtime,
            s3: &self.s3,
            cloudwatch: &self.cloudwatch,
            alarms: &self.cloudwatch,
            registry: &self.sagemaker,
            sfn: &self.sfn,
        }
    }

    /// Loads the default configuration (environment, profile, IMDS/Lambda role).
    /// `S3_FORCE_PATH_STYLE=true` (or any `AWS_ENDPOINT_URL`) makes S3 use path-style
    /// addressing, which local emulators need.
    pub async fn from_env() -> Self {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let path_style = std::env::var("S3_FORCE_PATH_STYLE").is_ok_and(|v| v == "true")
            || std::env::var("AWS_ENDPOINT_URL").is_ok();
        Self::from_config(&config, path_style)
    }

    /// Builds every client from one configuration.
    pub fn from_config(config: &aws_config::SdkConfig, s3_path_style: bool) -> Self {
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(s3_path_style)
            .build();
        Self {
            sagemaker: SageMakerControl::new(aws_sdk_sagemaker::Client::new(config)),
            autoscaling: ApplicationAutoScaling::new(aws_sdk_applicationautoscaling::Client::new(config)),
            runtime: SageMakerRuntime::new(aws_sdk_sagemakerruntime::Client::new(config)),
            s3: S3Store::new(aws_sdk_s3::Client::from_conf(s3_config)),
            cloudwatch: CloudWatchMetrics::new(aws_sdk_cloudwatch::Client::new(config)),
            sfn: StepFunctions::new(aws_sdk_sfn::Client::new(config)),
            region: config
                .region()
                .map_or_else(|| "us-east-1".to_string(), |r| r.to_string()),
        }
    }
}
