//! Lambda for the deploy task state: the candidate as a new endpoint or a challenger variant.

#[tokio::main]
async fn main() -> Result<(), weighbridge_lambda::Error> {
    weighbridge_lambda::run("deploy").await
}
