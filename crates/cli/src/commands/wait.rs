//! `weighbridge wait endpoint-in-service --endpoint-name NAME`: as
//! `aws sagemaker wait endpoint-in-service`, DescribeEndpoint every 30 seconds until the
//! endpoint is InService (at most 120 polls) — on the state directory's virtual clock,
//! which the polls move forward.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use weighbridge_local::store::Access;
use weighbridge_local::WaitError;
use weighbridge_tasks::validation;

use super::local_state::Local;
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct WaitArgs {
    #[command(subcommand)]
    pub waiter: Waiter,
    #[arg(long, default_value = ".weighbridge", global = true)]
    pub state_dir: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum Waiter {
    /// Until the endpoint is InService (fails if it fails, or after 120 polls).
    EndpointInService {
        /// The endpoint.
        #[arg(long)]
        endpoint_name: String,
    },
}

/// The AWS CLI waiter's limit (of 30-second polls).
const POLLS: usize = 120;

pub fn run(args: &WaitArgs) -> Result<(), CliError> {
    let Waiter::EndpointInService { endpoint_name } = &args.waiter;
    validation::sagemaker_name("--endpoint-name", endpoint_name).map_err(CliError::Task)?;
    let local = Local::open(&args.state_dir, Access::Write, "wait")?;
    let waited = local.backend.wait_in_service(endpoint_name, POLLS);
    // The clock moved: saved whatever the outcome, and token waits that ran out end.
    local.save(&[])?;
    super::resume::sweep_lapsed(&local, "")?;
    match waited {
        Ok(endpoint) => {
            println!("{endpoint_name} is InService on config {}", endpoint.config_name);
            Ok(())
        }
        Err(WaitError::NoEndpoint(why)) => Err(CliError::Usage(format!(
            "DescribeEndpoint {endpoint_name}: {why}"
        ))),
        Err(WaitError::NotInService(why)) => Err(CliError::Execution(why)),
    }
}
