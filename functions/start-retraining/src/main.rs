//! Lambda for the start-retraining task state: S3 "Object Created" → one retrain execution per object version.
//! Environment: STATE_MACHINE_ARN (required), KEY_PREFIX, KEY_SUFFIX, TRAINING_DEFAULTS (JSON).

#[tokio::main]
async fn main() -> Result<(), weighbridge_lambda::Error> {
    weighbridge_lambda::run("start-retraining").await
}
