//! Lambda for the evaluate-variants task state: the scheduled A/B evaluator.
//! Environment: METRIC_NAMESPACE (default for the input's `namespace`).

use weighbridge_aws::AwsPorts;
use weighbridge_lambda::{default_from_env, serve, Error};
use weighbridge_tasks::{evaluate_variants::evaluate_variants, parse_input};

#[tokio::main]
async fn main() -> Result<(), Error> {
    weighbridge_lambda::init_tracing();
    let ports = AwsPorts::from_env().await;
    serve(|mut event| {
        let ports = ports.clone();
        default_from_env(&mut event, "namespace", "METRIC_NAMESPACE");
        async move {
            let input = parse_input(event)?;
            evaluate_variants(
                &ports.sagemaker,
                &ports.runtime,
                &ports.s3,
                &ports.cloudwatch,
                &input,
            )
            .await
        }
    })
    .await
}
