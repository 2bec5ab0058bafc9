//! `weighbridge wait endpoint-in-service --endpoint-name NAME`: as
//! `aws sagemaker wait endpoint-in-service`, DescribeEndpoint every 30 seconds until the
//! endpoint is InService (at most 120 polls) — on the state directory's virtual clock,
//! which the polls move forward.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use weighbridge_asl::interpreter::Clock;
use weighbridge_local::store::Access;
use weighbridge_tasks::ports::{EndpointStatus, SageMaker};
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

/// The AWS CLI waiter's limits.
const POLLS: usize = 120;
const POLL_SECONDS: i64 = 30;

pub fn run(args: &WaitArgs) -> Result<(), CliError> {
    let Waiter::EndpointInService { endpoint_name } = &args.waiter;
    validation::sagemaker_name("--endpoint-name", endpoint_name).map_err(CliError::Task)?;
    let local = Local::open(&args.state_dir, Access::Write, "wait")?;
    for _ in 0..POLLS {
        let endpoint = local
            .runtime
            .block_on(local.backend.describe_endpoint(endpoint_name))
            .map_err(|e| CliError::Usage(format!("DescribeEndpoint {endpoint_name}: {e}")))?;
        match endpoint.status {
            EndpointStatus::InService => {
                local.save(&[])?;
                println!("{endpoint_name} is InService on config {}", endpoint.config_name);
                return Ok(());
            }
            EndpointStatus::Failed => {
                local.save(&[])?;
                return Err(CliError::Execution(format!(
                    "{endpoint_name} failed: {}",
                    endpoint.failure_reason.unwrap_or_default()
                )));
            }
            _ => local
                .backend
                .clock()
                .advance(chrono::Duration::seconds(POLL_SECONDS)),
        }
    }
    local.save(&[])?;
    Err(CliError::Execution(format!(
        "{endpoint_name} is not InService after {POLLS} polls of {POLL_SECONDS} s"
    )))
}
