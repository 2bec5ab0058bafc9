//! Lambda for the start-retraining task state: S3 "Object Created" → retrain execution.
//! Environment: STATE_MACHINE_ARN (required), KEY_PREFIX, KEY_SUFFIX, TRAINING_DEFAULTS (JSON).

use weighbridge_aws::AwsPorts;
use weighbridge_lambda::{env_or, env_var, serve, Error};
use weighbridge_tasks::start_retraining::{start_retraining, StartRetrainingConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    weighbridge_lambda::init_tracing();
    let config = StartRetrainingConfig {
        state_machine_arn: env_var("STATE_MACHINE_ARN")?,
        key_prefix: env_or("KEY_PREFIX", ""),
        key_suffix: env_or("KEY_SUFFIX", ""),
        training_defaults: serde_json::from_str(&env_or("TRAINING_DEFAULTS", "{}"))?,
    };
    let ports = AwsPorts::from_env().await;
    serve(|event| {
        let (ports, config) = (ports.clone(), config.clone());
        async move { start_retraining(&ports.sfn, &config, &event).await }
    })
    .await
}
