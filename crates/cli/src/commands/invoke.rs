//! `weighbridge invoke <function> --event <file>`: one task function in process over the
//! embedded backend, as its Lambda would run; executions it starts (start-retraining)
//! then run as Step Functions would run them.

use std::path::PathBuf;

use clap::Args;
use weighbridge_local::demo::demo_env;
use weighbridge_local::functions::invoke;
use weighbridge_local::workflows::{run_started, Deployment};

use weighbridge_local::store::Access;

use super::local_state::{json_arg, Local};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// One of start-retraining, train, evaluate-model, deploy, evaluate-variants, shift-weights.
    pub function: String,
    /// The event: inline JSON or a file (e.g. events/train.json).
    #[arg(long)]
    pub event: String,
    #[arg(long, default_value = ".weighbridge")]
    pub state_dir: PathBuf,
    /// Run the function in process against AWS (the usual AWS configuration; the
    /// function's environment variables as its Lambda reads them). Needs a build with
    /// `--features aws`.
    #[arg(long)]
    pub aws: bool,
}

#[cfg(feature = "aws")]
fn on_aws(args: &InvokeArgs) -> Result<(), CliError> {
    let runtime = super::local_state::runtime()?;
    let out = super::aws_mode::invoke(&runtime, &args.function, json_arg(&args.event)?)?;
    show(out)
}

#[cfg(not(feature = "aws"))]
fn on_aws(_: &InvokeArgs) -> Result<(), CliError> {
    Err(super::no_aws())
}

/// The function's output, or the Lambda error shape and a failing exit code.
fn show(output: Result<serde_json::Value, weighbridge_tasks::TaskError>) -> Result<(), CliError> {
    match output {
        Ok(out) => {
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            Ok(())
        }
        Err(e) => {
            println!(
                "{}",
                serde_json::json!({"errorType": e.name(), "errorMessage": e.to_string()})
            );
            Err(CliError::Task(e))
        }
    }
}

pub fn run(args: &InvokeArgs) -> Result<(), CliError> {
    if args.aws {
        return on_aws(args);
    }
    let event = json_arg(&args.event)?;
    let local = Local::open(&args.state_dir, Access::Write, "invoke")?;
    let env = demo_env();
    let output = local
        .runtime
        .block_on(invoke(&local.backend, &env, &args.function, event));
    let records = local
        .runtime
        .block_on(run_started(&local.backend, &Deployment::embedded(), &env))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    // Saves only what changed: a rejected event leaves the directory as it was; a
    // function that failed after changing something keeps the change, as on AWS.
    local.save(&records)?;
    super::resume::sweep_lapsed(&local, "")?;
    for r in &records {
        eprintln!(
            "started and ran execution {} ({}): {:?}",
            r.name, r.machine, r.result.status
        );
    }
    show(output)
}
