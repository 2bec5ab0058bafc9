//! Lambda for the train task state: a compact training spec → CreateTrainingJob.

#[tokio::main]
async fn main() -> Result<(), weighbridge_lambda::Error> {
    weighbridge_lambda::run("train").await
}
