//! Going on with an execution the state directory keeps: a paused one whose task token
//! was answered (`send-task-success`, `send-task-failure`) or a failed one redriven
//! (`redrive`). The execution runs again over its journal — every call it made is
//! answered from there, nothing is called twice — on the definition it started with;
//! then its record is replaced. What `run` prints at the end is here too, so the three
//! commands report an execution alike.

use serde_json::{json, Value};
use weighbridge_asl::interpreter::{Clock, Continuation, Outcome, Status};
use weighbridge_local::demo::demo_env;
use weighbridge_local::records::{ExecutionRecord, Source};
use weighbridge_local::store::StoreError;
use weighbridge_local::workflows::{execution_spec, run_started, Deployment};

use super::local_state::Local;
use super::run_file::{parse_source, run_on_local};
use crate::error::CliError;

/// The execution `name` as kept; `None` for one kept before executions had a journal.
pub fn stored(local: &Local, name: &str) -> Result<Option<ExecutionRecord>, CliError> {
    let json = match local.dir.execution(&local.lock, name) {
        Err(StoreError::NoExecution { dir, .. }) => {
            return Err(CliError::service(
                "ExecutionDoesNotExist",
                format!(
                    "there is no execution {name:?} in {} (`weighbridge status` lists them)",
                    dir.display()
                ),
            ))
        }
        other => other?,
    };
    ExecutionRecord::from_json(&json).map_err(|e| {
        CliError::Usage(format!(
            "the record of execution {name:?} is damaged: {e}; remove it from the state directory's executions/ [Weighbridge.StateDamaged]"
        ))
    })
}

/// Runs `record`'s execution again from `from` on `local`'s backend and clock.
pub fn go_on(
    local: &Local,
    record: &ExecutionRecord,
    from: Continuation,
) -> Result<ExecutionRecord, CliError> {
    let (definition, mocks) = match &record.source {
        Source::Project => (
            Deployment::embedded()
                .definition(&record.machine)
                .map_err(|e| CliError::Usage(e.to_string()))?,
            None,
        ),
        Source::File(file) => parse_source(
            file,
            &record.machine,
            &format!("the definition execution {} ran", record.name),
        )?,
    };
    let result = run_on_local(
        local,
        (&definition, mocks),
        (&record.machine, &record.name),
        record.input.clone(),
        Some(from),
    );
    Ok(ExecutionRecord {
        result,
        ..record.clone()
    })
}

/// Every other paused execution whose task token's wait ran out by now (the state
/// directory's clock moved on): it goes on from the timeout, at the time it ran out, as
/// the service's would have without anyone asking. Says so on stderr.
pub fn sweep_lapsed(local: &Local, except: &str) -> Result<(), CliError> {
    let now = local.backend.clock().now();
    for name in local.dir.executions()?.into_iter().filter(|n| n != except) {
        let json = local.dir.execution(&local.lock, &name)?;
        if json["status"] != "Running" {
            continue;
        }
        let Ok(Some(record)) = ExecutionRecord::from_json(&json) else {
            continue;
        };
        let mut journal = record.result.journal.clone();
        let lapsed = journal.lapsed(now);
        if lapsed.is_empty() {
            continue;
        }
        for token in &lapsed {
            // Any answer after the wait's end is kept as the timeout at its end.
            let _ = journal.answer(token, now, Outcome::Result(Value::Null));
        }
        let from = Continuation::answered(journal, record.result.started, record.result.history.clone());
        let record = go_on(local, &record, from)?;
        save(local, &record)?;
        eprintln!(
            "execution {name}: its task token's wait ran out; it went on from the timeout: {}",
            record.result.status.service_name()
        );
    }
    Ok(())
}

/// Keeps `record` in place of the one of its name, runs the executions it started, and
/// saves the backend; DescribeExecution sees its new status if the backend started it.
pub fn save(local: &Local, record: &ExecutionRecord) -> Result<(), CliError> {
    let arn = execution_spec(&record.machine, &record.name).arn();
    if local.backend.executions().contains_key(&record.name) {
        local.backend.finish_execution(&arn, record.result.status);
    }
    let started = local
        .runtime
        .block_on(run_started(&local.backend, &Deployment::embedded(), &demo_env()))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    local
        .dir
        .replace_execution(&local.lock, &record.name, &record.to_json())?;
    local.save(&started)
}

/// Prints how the execution stands: its output (stdout) and status (stderr); a paused
/// one's task tokens as `{"status": "RUNNING", "taskTokens": […]}`. An execution that
/// failed or timed out is the command's error (exit 3).
pub fn report(record: &ExecutionRecord) -> Result<(), CliError> {
    let (name, result) = (&record.name, &record.result);
    if result.status == Status::Running {
        let tokens = result.journal.waiting_tokens();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"status": "RUNNING", "taskTokens": tokens}))
                .unwrap_or_default()
        );
        eprintln!(
            "execution {name}: Running, waiting for {} task token(s); answer with \
             `weighbridge send-task-success --task-token TOKEN --task-output JSON` \
             (or send-task-failure)",
            tokens.len()
        );
        return Ok(());
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&result.output).unwrap_or_default()
    );
    match (result.status, &result.error) {
        (Status::Succeeded, _) => {
            eprintln!(
                "execution {name}: Succeeded ({} events; `weighbridge history {name}`)",
                result.history.len()
            );
            Ok(())
        }
        (status, error) => Err(CliError::Execution(format!(
            "execution {name}: {status:?}: {}",
            error.as_ref().map(ToString::to_string).unwrap_or_default()
        ))),
    }
}
