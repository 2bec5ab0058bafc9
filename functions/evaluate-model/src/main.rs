//! Lambda for the evaluate-model task state: the quality gate for a candidate model.

#[tokio::main]
async fn main() -> Result<(), weighbridge_lambda::Error> {
    weighbridge_lambda::run("evaluate-model").await
}
