//! Lambda for the evaluate-variants task state: the scheduled A/B evaluator.
//! Environment: METRIC_NAMESPACE (default for the input's `namespace`).

#[tokio::main]
async fn main() -> Result<(), weighbridge_lambda::Error> {
    weighbridge_lambda::run("evaluate-variants").await
}
