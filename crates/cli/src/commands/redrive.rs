//! `weighbridge redrive NAME`: Step Functions' RedriveExecution for an execution kept in
//! the state directory. A FAILED or TIMED_OUT execution goes on from where it failed:
//! the steps that succeeded keep their results (and are not called again), the failed
//! ones — a failed Task, a Parallel branch, a Map iteration — run again with their
//! retries from zero, on the definition the execution started with.
//!
//! Refused as the service refuses it (`ExecutionNotRedrivable`, with the service's
//! reasons): a running or succeeded execution, one closed more than 14 days ago on the
//! state directory's clock, one whose history reached 25,000 events, and one kept before
//! executions kept their journal.

use std::path::PathBuf;

use chrono::Duration;
use clap::Args;
use weighbridge_asl::interpreter::{Clock, Continuation, Status};
use weighbridge_local::store::Access;
use weighbridge_tasks::validation;

use super::local_state::Local;
use super::resume::{go_on, report, save, stored, sweep_lapsed};
use crate::error::CliError;

/// How long after it closed an execution can be redriven.
const REDRIVABLE_DAYS: i64 = 14;
/// The service's history quota: an execution that reached it cannot go on.
const MAX_EVENTS: usize = 25_000;

#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// The execution's name (`weighbridge status` lists them).
    pub execution: String,
    #[arg(long, default_value = ".weighbridge")]
    pub state_dir: PathBuf,
}

fn not_redrivable(reason: impl Into<String>) -> CliError {
    CliError::service("ExecutionNotRedrivable", reason)
}

pub fn run(args: &RedriveArgs) -> Result<(), CliError> {
    validation::execution_name("the execution name", &args.execution).map_err(CliError::Task)?;
    let local = Local::open(&args.state_dir, Access::Write, "redrive")?;
    let record = stored(&local, &args.execution)?.ok_or_else(|| {
        not_redrivable("Execution was started before the launch of RedriveExecution (it was kept without its journal); run it again instead")
    })?;
    let result = &record.result;
    if !matches!(result.status, Status::Failed | Status::TimedOut) {
        return Err(not_redrivable(format!(
            "Execution is {} and cannot be redriven.",
            result.status.service_name()
        )));
    }
    if local.backend.clock().now() - result.stopped > Duration::days(REDRIVABLE_DAYS) {
        return Err(not_redrivable(format!(
            "Execution redrivable period exceeded: it closed at {}, more than {REDRIVABLE_DAYS} days ago.",
            result.stopped.to_rfc3339()
        )));
    }
    if result.history.len() >= MAX_EVENTS {
        return Err(not_redrivable("Execution history event limit exceeded."));
    }
    let from = Continuation::redriven(result.journal.clone(), result.started, result.history.clone());
    let record = go_on(&local, &record, from)?;
    save(&local, &record)?;
    sweep_lapsed(&local, &record.name)?;
    report(&record)
}
