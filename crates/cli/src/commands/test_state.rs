//! `weighbridge test-state FILE --state NAME --input … [--mock MOCKS.json]
//! [--inspection-level INFO|DEBUG|TRACE]`: what the TestState API answers for one state of
//! a definition — its output or error, the next state, the status, and at DEBUG/TRACE the
//! data after each processing step. The state runs once on the state directory's backend
//! (read, not saved), its Task answered by the mocks or the project's functions.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use weighbridge_asl::interpreter::{test_state, InspectionLevel};
use weighbridge_local::demo::demo_env;
use weighbridge_local::mocks::MockedResources;
use weighbridge_local::store::Access;
use weighbridge_local::workflows::{execution_spec, Deployment, TaskResources};

use super::local_state::{json_arg, Local};
use super::run_file::{load_definition, machine_name};
use crate::error::CliError;

#[derive(Debug, Clone, Copy, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum Level {
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Args)]
pub struct TestStateArgs {
    /// The state machine definition file.
    pub definition: String,
    /// The state to test (a top-level state).
    #[arg(long)]
    pub state: String,
    /// The state's input: inline JSON or a file.
    #[arg(long, default_value = "{}")]
    pub input: String,
    /// Variables in scope, as a JSON object (what earlier states would have assigned).
    #[arg(long, default_value = "{}")]
    pub variables: String,
    /// Mocked Task answers (Step Functions Local's mock-config format).
    #[arg(long)]
    pub mock: Option<String>,
    /// The mock config's test case (needed when it has several).
    #[arg(long)]
    pub test_case: Option<String>,
    /// INFO: output, error, next state, status; DEBUG and TRACE add the data after each step.
    #[arg(long, value_enum, default_value = "INFO")]
    pub inspection_level: Level,
    #[arg(long, default_value = ".weighbridge")]
    pub state_dir: PathBuf,
}

pub fn run(args: &TestStateArgs) -> Result<(), CliError> {
    let input = json_arg(&args.input)?;
    let serde_json::Value::Object(variables) = json_arg(&args.variables)? else {
        return Err(CliError::Usage(
            "--variables must be a JSON object of variable names [Weighbridge.InvalidInput]".into(),
        ));
    };
    let (definition, mocks) =
        load_definition(&args.definition, args.mock.as_deref(), args.test_case.as_deref())?;
    let local = Local::open(&args.state_dir, Access::Read, "test-state")?;
    let deployment = Deployment::embedded();
    let env = demo_env();
    let project = TaskResources::local(&local.backend, &env, &deployment);
    let resources = MockedResources::new(mocks.unwrap_or_default(), Some(&project));
    let level = match args.inspection_level {
        Level::Info => InspectionLevel::Info,
        Level::Debug => InspectionLevel::Debug,
        Level::Trace => InspectionLevel::Trace,
    };
    let machine = machine_name(&args.definition);
    let clock = local.backend.clock();
    let answer = local
        .runtime
        .block_on(test_state(
            &definition,
            &args.state,
            (input, variables),
            (
                &execution_spec(&machine, "test-state"),
                &resources,
                clock.as_ref(),
            ),
            level,
        ))
        .map_err(|f| CliError::Usage(format!("{}: {} [{}]", args.definition, f.cause, f.error)))?;
    println!("{}", serde_json::to_string_pretty(&answer).unwrap_or_default());
    Ok(())
}
