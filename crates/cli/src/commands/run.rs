//! `weighbridge run <statemachine|FILE.asl.json> --input <json|file>`: one execution of a
//! project state machine, or of any definition file (with `--mock`, see `run_file`),
//! through the interpreter, over the embedded backend in the state directory.

use std::path::PathBuf;

use clap::Args;
use weighbridge_local::demo::demo_env;
use weighbridge_local::records::{ExecutionRecord, Source};
use weighbridge_local::workflows::{run_machine, run_started, Deployment};

use weighbridge_local::store::{Access, StoreError};
use weighbridge_tasks::validation;

use super::local_state::{json_arg, Local};
use super::resume::{report, sweep_lapsed};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// `retrain`, `ab-evaluation`, or a state machine definition file (`*.json`).
    pub machine: String,
    /// The execution's input: inline JSON or a file (e.g. events/retrain-execution.json).
    #[arg(long)]
    pub input: String,
    /// The execution's name (default: the machine and the state's execution count).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value = ".weighbridge")]
    pub state_dir: PathBuf,
    /// Run the state machine here against AWS: the interpreter and the task code in
    /// process, SageMaker through the SDK, on the wall clock (Wait states really wait).
    /// Needs a build with `--features aws`.
    #[arg(long)]
    pub aws: bool,
    /// With a definition file: mocked Task answers, in Step Functions Local's mock-config
    /// format (`StateMachines` → `TestCases`, `MockedResponses`).
    #[arg(long)]
    pub mock: Option<String>,
    /// The mock config's test case (needed when it has several).
    #[arg(long)]
    pub test_case: Option<String>,
}

#[cfg(feature = "aws")]
fn on_aws(args: &RunArgs) -> Result<(), CliError> {
    let runtime = super::local_state::runtime()?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", args.machine, std::process::id()));
    let input = json_arg(&args.input)?;
    let result = super::aws_mode::run(&runtime, &args.machine, &name, input.clone())?;
    report(&ExecutionRecord::project(name, &args.machine, input, result))
}

#[cfg(not(feature = "aws"))]
fn on_aws(_: &RunArgs) -> Result<(), CliError> {
    Err(super::no_aws())
}

/// The machine's name in the history: the project machine, or the definition file's name.
fn machine_label(args: &RunArgs) -> String {
    if super::run_file::is_definition_file(&args.machine) {
        super::run_file::machine_name(&args.machine)
    } else {
        args.machine.clone()
    }
}

/// `<machine>-<NNN>`: the first number after the executions recorded that is free.
fn next_name(local: &Local, machine: &str) -> Result<String, CliError> {
    let mut n = local.dir.executions()?.len() + 1;
    loop {
        let name = format!("{machine}-{n:03}");
        if !local.dir.has_execution(&name) {
            validation::execution_name("the execution name", &name).map_err(CliError::Task)?;
            return Ok(name);
        }
        n += 1;
    }
}

pub fn run(args: &RunArgs) -> Result<(), CliError> {
    if args.aws {
        return on_aws(args);
    }
    let input = json_arg(&args.input)?;
    if let Some(name) = &args.name {
        validation::execution_name("--name", name).map_err(CliError::Task)?;
    }
    let local = Local::open(&args.state_dir, Access::Write, "run")?;
    let deployment = Deployment::embedded();
    let name = match &args.name {
        Some(name) if local.dir.has_execution(name) => {
            return Err(StoreError::ExecutionExists(name.clone()).into())
        }
        Some(name) => name.clone(),
        None => next_name(&local, &machine_label(args))?,
    };
    let env = demo_env();
    let (result, source) = if super::run_file::is_definition_file(&args.machine) {
        super::run_file::run_definition(args, &local, &name, input.clone())?
    } else {
        if args.mock.is_some() {
            return Err(CliError::Usage(
                "--mock runs a definition file (FILE.asl.json), not a project machine [Weighbridge.InvalidInput]".into(),
            ));
        }
        let result = local
            .runtime
            .block_on(run_machine(
                &local.backend,
                &deployment,
                &env,
                &args.machine,
                &name,
                input.clone(),
            ))
            .map_err(|e| CliError::Usage(e.to_string()))?;
        (result, Source::Project)
    };
    let mut records = vec![ExecutionRecord {
        name,
        machine: machine_label(args),
        input,
        result,
        source,
    }];
    // Executions this one started (none for the project's machines) run too.
    records.extend(
        local
            .runtime
            .block_on(run_started(&local.backend, &deployment, &env))
            .map_err(|e| CliError::Usage(e.to_string()))?,
    );
    local.save(&records)?;
    sweep_lapsed(&local, &records[0].name)?;
    report(&records[0])
}
