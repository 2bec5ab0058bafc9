//! Lambda for the shift-weights task state: apply a weight decision, promote, roll back, clean up.

#[tokio::main]
async fn main() -> Result<(), weighbridge_lambda::Error> {
    weighbridge_lambda::run("shift-weights").await
}
