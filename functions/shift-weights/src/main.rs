//! Lambda for the shift-weights task state: set, step, promote, roll back, clean up.

use weighbridge_aws::AwsPorts;
use weighbridge_lambda::{serve, Error};
use weighbridge_tasks::{parse_input, shift_weights::shift_weights};

#[tokio::main]
async fn main() -> Result<(), Error> {
    weighbridge_lambda::init_tracing();
    let ports = AwsPorts::from_env().await;
    serve(|event| {
        let ports = ports.clone();
        async move { shift_weights(&ports.sagemaker, &parse_input(event)?).await }
    })
    .await
}
