//! `weighbridge run FILE.asl.json --input … [--mock MOCKS.json] [--test-case NAME]`: any
//! state machine definition through the interpreter, on the state directory's embedded
//! backend and clock. Task states are answered by the mock config (the retired Step
//! Functions Local's format, see `weighbridge_local::mocks`) or, when not mocked, by this
//! project's functions and SageMaker actions.

use std::path::Path;

use serde_json::Value;
use weighbridge_asl::definition::StateMachine;
use weighbridge_asl::interpreter::{run, ExecutionResult, ExecutionSpec};
use weighbridge_asl::validate::validate_text;
use weighbridge_local::demo::demo_env;
use weighbridge_local::mocks::{MockedResources, Mocks};
use weighbridge_local::workflows::{Deployment, TaskResources};

use super::local_state::{read_bounded, Local};
use super::run::RunArgs;
use crate::error::CliError;

/// Whether the `machine` argument names a definition file rather than a project machine.
pub fn is_definition_file(machine: &str) -> bool {
    machine.ends_with(".json") || Path::new(machine).is_file()
}

/// The machine's name for the history: the file's name without `.asl.json` / `.json`.
pub fn machine_name(path: &str) -> String {
    let file = Path::new(path)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_string());
    file.trim_end_matches(".json")
        .trim_end_matches(".asl")
        .to_string()
}

/// The mocks `--mock` names (for the state machine called like the file if the config
/// has it, else its only one).
fn mocks(mock: Option<&str>, test_case: Option<&str>, machine: &str) -> Result<Option<Mocks>, CliError> {
    let Some(path) = mock else {
        return Ok(None);
    };
    let text = read_bounded(path)?;
    let named = serde_json::from_str::<Value>(&text)
        .ok()
        .is_some_and(|c| c["StateMachines"].get(machine).is_some());
    Mocks::from_config(&text, named.then_some(machine), test_case)
        .map(Some)
        .map_err(|e| CliError::Usage(format!("--mock {path}: {e} [Weighbridge.InvalidInput]")))
}

/// A definition file, validated, with its mocks: with mocks any Task resource is
/// allowed (a mock or the project answers it at run time), without only the project's.
pub fn load_definition(
    path: &str,
    mock: Option<&str>,
    test_case: Option<&str>,
) -> Result<(StateMachine, Option<Mocks>), CliError> {
    let mocks = mocks(mock, test_case, &machine_name(path))?;
    let deployment = Deployment::embedded();
    let known = |resource: &str| mocks.is_some() || deployment.knows(resource);
    let definition = validate_text(&read_bounded(path)?, &known)
        .map_err(|e| CliError::Usage(format!("{path}: {e} [Weighbridge.InvalidInput]")))?;
    Ok((definition, mocks))
}

/// The execution's identity for a definition file's machine.
pub fn spec(machine: &str, name: &str) -> ExecutionSpec {
    ExecutionSpec {
        state_machine_name: machine.to_string(),
        state_machine_arn: weighbridge_local::workflows::state_machine_arn(machine),
        name: name.to_string(),
        role_arn: format!("arn:aws:iam::000000000000:role/{machine}"),
        seed: weighbridge_tasks::names::fingerprint(&[machine, name]),
    }
}

/// Runs the definition in `args.machine` to its end as execution `name`.
pub fn run_definition(
    args: &RunArgs,
    local: &Local,
    name: &str,
    input: Value,
) -> Result<ExecutionResult, CliError> {
    let machine = machine_name(&args.machine);
    let (definition, mocks) =
        load_definition(&args.machine, args.mock.as_deref(), args.test_case.as_deref())?;
    let deployment = Deployment::embedded();
    let env = demo_env();
    let project = TaskResources::local(&local.backend, &env, &deployment);
    let resources = MockedResources::new(mocks.unwrap_or_default(), Some(&project));
    let clock = local.backend.clock();
    Ok(local.runtime.block_on(run(
        &definition,
        input,
        &spec(&machine, name),
        &resources,
        clock.as_ref(),
    )))
}
