//! Lambda for the train task state: a compact training spec → CreateTrainingJob.

use weighbridge_aws::AwsPorts;
use weighbridge_lambda::{serve, Error};
use weighbridge_tasks::{parse_input, train::train};

#[tokio::main]
async fn main() -> Result<(), Error> {
    weighbridge_lambda::init_tracing();
    let ports = AwsPorts::from_env().await;
    serve(|event| {
        let ports = ports.clone();
        async move { train(&ports.sagemaker, &ports.region, &parse_input(event)?).await }
    })
    .await
}
