//! Lambda for the deploy task state: a new endpoint, or a challenger variant on a live one.

use weighbridge_aws::AwsPorts;
use weighbridge_lambda::{serve, Error};
use weighbridge_tasks::{deploy::deploy, parse_input};

#[tokio::main]
async fn main() -> Result<(), Error> {
    weighbridge_lambda::init_tracing();
    let ports = AwsPorts::from_env().await;
    serve(|event| {
        let ports = ports.clone();
        async move { deploy(&ports.sagemaker, &ports.region, &parse_input(event)?).await }
    })
    .await
}
