//! Lambda for the evaluate-model task state: the quality gate for a trained candidate.

use weighbridge_aws::AwsPorts;
use weighbridge_lambda::{serve, Error};
use weighbridge_tasks::{evaluate_model::evaluate_model, parse_input};

#[tokio::main]
async fn main() -> Result<(), Error> {
    weighbridge_lambda::init_tracing();
    let ports = AwsPorts::from_env().await;
    serve(|event| {
        let ports = ports.clone();
        async move { evaluate_model(&ports.sagemaker, &ports.s3, &parse_input(event)?).await }
    })
    .await
}
