//! `weighbridge`: the command-line entry point. Each subcommand lives in `commands/`.

mod commands;
mod error;
mod input;
mod plot;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Weighbridge: train, evaluate, deploy and shift traffic between SageMaker model variants.
#[derive(Debug, Parser)]
#[command(name = "weighbridge", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Compare two or more variants' predictions on the same labelled rows: every metric
    /// per variant and paired tests (DeLong for AUC, paired bootstrap for RMSE/MAE/log-loss).
    Compare(commands::compare::CompareArgs),
    /// Run the whole life of a model offline: retraining on S3 uploads, a challenger
    /// promoted by scheduled A/B looks, a worse one rolled back — the real state machines
    /// and task code over the embedded backend, on a virtual clock.
    Demo(commands::demo::DemoArgs),
    /// Run a state machine (`retrain`, `ab-evaluation`, or any definition file with
    /// `--mock`) through the interpreter over the embedded backend in the state directory.
    Run(commands::run::RunArgs),
    /// Answer a Task state waiting for a task token (SendTaskSuccess): the paused
    /// execution goes on with this output.
    SendTaskSuccess(commands::send_task::SendTaskSuccessArgs),
    /// Fail a Task state waiting for a task token (SendTaskFailure) with an error and cause.
    SendTaskFailure(commands::send_task::SendTaskFailureArgs),
    /// Keep a Task state waiting for a task token past its HeartbeatSeconds (SendTaskHeartbeat).
    SendTaskHeartbeat(commands::send_task::SendTaskHeartbeatArgs),
    /// Redrive a FAILED or TIMED_OUT execution from where it failed (RedriveExecution).
    Redrive(commands::redrive::RedriveArgs),
    /// What the TestState API answers for one state of a definition: output or error, the
    /// next state, the status, and (DEBUG/TRACE) the data after each processing step.
    TestState(commands::test_state::TestStateArgs),
    /// Replay two or more model.tar.gz files on a labelled data set: deployed as variants,
    /// daily looks by the real ab-evaluation workflow, its decisions, table and plot.
    Replay(commands::replay::ReplayArgs),
    /// Invoke a task function in process with an event, over the embedded backend.
    Invoke(commands::invoke::InvokeArgs),
    /// InvokeEndpoint on the embedded backend, as `aws sagemaker-runtime invoke-endpoint`.
    InvokeEndpoint(commands::invoke_endpoint::InvokeEndpointArgs),
    /// Put, get and list objects in the local S3 (`cp`, `ls`), as the AWS CLI does.
    S3(commands::s3::S3Args),
    /// Endpoints, variants, weights, last metrics, training jobs and executions.
    Status(commands::status::StatusArgs),
    /// An execution's events (like `execution.list_events()`).
    History(commands::history::HistoryArgs),
    /// Wait for an endpoint, as `aws sagemaker wait` (moving the virtual clock).
    Wait(commands::wait::WaitArgs),
    /// Validate the state machines and cross-check them with template.yaml.
    Validate(commands::validate::ValidateArgs),
}

/// Output piped into a reader that stops early (`weighbridge status | head`) ends the
/// program quietly, as other Unix tools do, instead of a panic in `println!`.
fn quiet_broken_pipes() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    quiet_broken_pipes();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Compare(args) => commands::compare::run(&args),
        Command::Demo(args) => commands::demo::run(&args),
        Command::Run(args) => commands::run::run(&args),
        Command::TestState(args) => commands::test_state::run(&args),
        Command::SendTaskSuccess(args) => commands::send_task::success(&args),
        Command::SendTaskFailure(args) => commands::send_task::failure(&args),
        Command::SendTaskHeartbeat(args) => commands::send_task::heartbeat(&args),
        Command::Redrive(args) => commands::redrive::run(&args),
        Command::Invoke(args) => commands::invoke::run(&args),
        Command::Replay(args) => commands::replay::run(&args),
        Command::InvokeEndpoint(args) => commands::invoke_endpoint::run(&args),
        Command::S3(args) => commands::s3::run(&args),
        Command::Status(args) => commands::status::run(&args),
        Command::History(args) => commands::history::run(&args),
        Command::Validate(args) => commands::validate::run(&args),
        Command::Wait(args) => commands::wait::run(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(err.exit_code())
        }
    }
}
