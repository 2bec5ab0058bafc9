//! `weighbridge send-task-success --task-token T --task-output JSON`,
//! `weighbridge send-task-failure --task-token T [--error E] [--cause C]` and
//! `weighbridge send-task-heartbeat --task-token T`: the answer to a Task state that waits
//! for a task token (`.waitForTaskToken`), as Step Functions' SendTaskSuccess /
//! SendTaskFailure take it, or a heartbeat that keeps it waiting (SendTaskHeartbeat). The paused execution goes on at once, on
//! the state directory's clock, until it ends or waits for another token.
//!
//! Refused as the service refuses them, by its error names: a token that is not one
//! (`InvalidToken`), one of no execution kept here (`TaskDoesNotExist`), one already
//! answered or of an execution that is no longer running (`TaskTimedOut`), output that is
//! not JSON (`InvalidOutput`), and fields over the service's lengths
//! (`ValidationException`). An answer after the Task's `TimeoutSeconds` or
//! `HeartbeatSeconds` ran out (on the state directory's clock) is `TaskTimedOut` too, and
//! the execution goes on as the service's would have: from the timeout, at its time.

use std::path::{Path, PathBuf};

use clap::Args;
use weighbridge_asl::interpreter::{token_execution, Answer, Clock, Continuation, Journal, Outcome, Status};
use weighbridge_local::records::ExecutionRecord;
use weighbridge_local::store::Access;
use weighbridge_tasks::validation;

use super::local_state::{read_bounded, Local};
use super::resume::{go_on, report, save, stored, sweep_lapsed};
use crate::error::CliError;

/// The longest task token SendTaskSuccess takes.
const MAX_TOKEN: usize = 2048;
/// The longest output (256 KiB, the service's payload quota).
const MAX_OUTPUT: usize = 262_144;
/// The longest error name SendTaskFailure takes.
const MAX_ERROR: usize = 256;
/// The longest cause SendTaskFailure takes.
const MAX_CAUSE: usize = 32_768;

#[derive(Debug, Args)]
pub struct SendTaskSuccessArgs {
    /// The token the Task state handed out (`$$.Task.Token`; `weighbridge run` prints it).
    #[arg(long)]
    pub task_token: String,
    /// The task's result: inline JSON or a file holding it.
    #[arg(long)]
    pub task_output: String,
    #[arg(long, default_value = ".weighbridge")]
    pub state_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct SendTaskHeartbeatArgs {
    /// The token the Task state handed out (`$$.Task.Token`; `weighbridge run` prints it).
    #[arg(long)]
    pub task_token: String,
    #[arg(long, default_value = ".weighbridge")]
    pub state_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct SendTaskFailureArgs {
    /// The token the Task state handed out (`$$.Task.Token`; `weighbridge run` prints it).
    #[arg(long)]
    pub task_token: String,
    /// The error name the Task state fails with (what its Retry and Catch match).
    #[arg(long, default_value = "")]
    pub error: String,
    /// A longer description of the failure.
    #[arg(long, default_value = "")]
    pub cause: String,
    #[arg(long, default_value = ".weighbridge")]
    pub state_dir: PathBuf,
}

/// `--task-output`: a file's JSON if it names a file, else the text itself.
fn task_output(text: &str) -> Result<serde_json::Value, CliError> {
    let body = if Path::new(text).is_file() {
        read_bounded(text)?
    } else {
        text.to_string()
    };
    if body.len() > MAX_OUTPUT {
        return Err(CliError::service(
            "ValidationException",
            format!(
                "--task-output is {} bytes; the service takes at most {MAX_OUTPUT}",
                body.len()
            ),
        ));
    }
    serde_json::from_str(&body).map_err(|e| {
        let shown: String = text.chars().take(80).collect();
        CliError::service(
            "InvalidOutput",
            format!("--task-output {shown:?} is not JSON: {e}"),
        )
    })
}

/// The execution a token belongs to, by the token's shape alone.
fn execution_of(token: &str) -> Result<String, CliError> {
    if token.is_empty() || token.len() > MAX_TOKEN {
        return Err(CliError::service(
            "ValidationException",
            format!(
                "--task-token has {} characters; a task token has 1 to {MAX_TOKEN}",
                token.len()
            ),
        ));
    }
    token_execution(token)
        .filter(|name| validation::execution_name("the token's execution", name).is_ok())
        .ok_or_else(|| {
            CliError::service(
                "InvalidToken",
                "--task-token is not a task token (copy it whole from `weighbridge run`'s taskTokens or the Task's $$.Task.Token)",
            )
        })
}

/// `TaskTimedOut` for a token whose task is no longer open.
fn closed(name: &str) -> CliError {
    CliError::service(
        "TaskTimedOut",
        format!("the task of this token in execution {name} has already been closed (answered, or the execution is no longer running)"),
    )
}

/// The paused execution `name` (a token's), as kept; the service's errors otherwise.
fn paused_execution(local: &Local, name: &str) -> Result<ExecutionRecord, CliError> {
    let record = match stored(local, name) {
        Err(CliError::Service {
            name: "ExecutionDoesNotExist",
            message,
        }) => return Err(CliError::service("TaskDoesNotExist", message)),
        other => other?.ok_or_else(|| closed(name))?,
    };
    if record.result.status != Status::Running {
        return Err(closed(name));
    }
    Ok(record)
}

/// Answers `token` with `outcome`, then runs its execution on.
fn answer(state_dir: &Path, token: &str, outcome: Outcome, command: &str) -> Result<(), CliError> {
    let name = execution_of(token)?;
    let local = Local::open(state_dir, Access::Write, command)?;
    let record = paused_execution(&local, &name)?;
    let mut journal = record.result.journal.clone();
    let now = local.backend.clock().now();
    let taken = journal.answer(token, now, outcome).ok_or_else(|| closed(&name))?;
    went_on(&local, &record, journal, taken)
}

/// Runs `record`'s execution on over `journal` (a token answered, or its wait ended),
/// keeps it and reports it; a late answer is the service's `TaskTimedOut`.
fn went_on(local: &Local, record: &ExecutionRecord, journal: Journal, taken: Answer) -> Result<(), CliError> {
    let from = Continuation::answered(journal, record.result.started, record.result.history.clone());
    let record = go_on(local, record, from)?;
    save(local, &record)?;
    sweep_lapsed(local, &record.name)?;
    let reported = report(&record);
    let name = &record.name;
    match taken {
        // As the service refuses a late answer; the execution went on from the timeout.
        Answer::TooLate(end) => Err(CliError::service(
            "TaskTimedOut",
            format!(
                "the task's wait ended at {} (its TimeoutSeconds or HeartbeatSeconds), before this; execution {name} went on from the timeout (`weighbridge history {name}`)",
                end.to_rfc3339()
            ),
        )),
        Answer::InTime => reported,
    }
}

/// `send-task-heartbeat`: the task's `HeartbeatSeconds` start again from now; the
/// execution stays paused (the service writes no event for a heartbeat).
pub fn heartbeat(args: &SendTaskHeartbeatArgs) -> Result<(), CliError> {
    let name = execution_of(&args.task_token)?;
    let local = Local::open(&args.state_dir, Access::Write, "send-task-heartbeat")?;
    let record = paused_execution(&local, &name)?;
    let mut journal = record.result.journal.clone();
    let now = local.backend.clock().now();
    let taken = journal
        .heartbeat(&args.task_token, now)
        .ok_or_else(|| closed(&name))?;
    if let Answer::TooLate(_) = taken {
        return went_on(&local, &record, journal, taken);
    }
    let mut kept = record;
    kept.result.journal = journal;
    local.dir.replace_execution(&local.lock, &name, &kept.to_json())?;
    println!("{{}}");
    eprintln!(
        "execution {name}: heartbeat at {}; still waiting",
        now.to_rfc3339()
    );
    Ok(())
}

pub fn success(args: &SendTaskSuccessArgs) -> Result<(), CliError> {
    let output = task_output(&args.task_output)?;
    answer(
        &args.state_dir,
        &args.task_token,
        Outcome::Result(output),
        "send-task-success",
    )
}

pub fn failure(args: &SendTaskFailureArgs) -> Result<(), CliError> {
    for (field, value, max) in [
        ("--error", &args.error, MAX_ERROR),
        ("--cause", &args.cause, MAX_CAUSE),
    ] {
        if value.chars().count() > max {
            return Err(CliError::service(
                "ValidationException",
                format!(
                    "{field} has {} characters; the service takes at most {max}",
                    value.chars().count()
                ),
            ));
        }
    }
    let outcome = Outcome::Error {
        error: args.error.clone(),
        cause: args.cause.clone(),
    };
    answer(&args.state_dir, &args.task_token, outcome, "send-task-failure")
}
