//! `weighbridge run FILE.asl.json --input … [--mock MOCKS.json] [--test-case NAME]`: any
//! state machine definition through the interpreter, on the state directory's embedded
//! backend and clock. Task states are answered by the mock config (the retired Step
//! Functions Local's format, see `weighbridge_local::mocks`) or, when not mocked, by this
//! project's functions and SageMaker actions.

use std::path::Path;

use serde_json::Value;
use weighbridge_asl::definition::StateMachine;
use weighbridge_asl::interpreter::{resume, Continuation, ExecutionResult};
use weighbridge_asl::validate::validate_text;
use weighbridge_local::demo::demo_env;
use weighbridge_local::mocks::{MockedResources, Mocks};
use weighbridge_local::records::{FileSource, Source};
use weighbridge_local::workflows::{execution_spec, Deployment, TaskResources};

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

/// The mocks in a mock config's text (for the state machine called like the file if the
/// config has it, else its only one); `label` names the config in errors.
fn mocks(text: &str, label: &str, test_case: Option<&str>, machine: &str) -> Result<Mocks, CliError> {
    let named = serde_json::from_str::<Value>(text)
        .ok()
        .is_some_and(|c| c["StateMachines"].get(machine).is_some());
    Mocks::from_config(text, named.then_some(machine), test_case)
        .map_err(|e| CliError::Usage(format!("{label}: {e} [Weighbridge.InvalidInput]")))
}

/// The definition file and mock config as they are now, to run and to keep with the
/// execution (it goes on with these even if the files change).
pub fn file_source(path: &str, mock: Option<&str>, test_case: Option<&str>) -> Result<FileSource, CliError> {
    Ok(FileSource {
        definition: read_bounded(path)?,
        mock: mock.map(read_bounded).transpose()?,
        test_case: test_case.map(String::from),
    })
}

/// A definition file, validated, with its mocks: with mocks any Task resource is
/// allowed (a mock or the project answers it at run time), without only the project's.
/// `label` names the file in errors.
pub fn parse_source(
    source: &FileSource,
    machine: &str,
    label: &str,
) -> Result<(StateMachine, Option<Mocks>), CliError> {
    let test_case = source.test_case.as_deref();
    let mocks = source
        .mock
        .as_deref()
        .map(|text| mocks(text, &format!("the mock config of {label}"), test_case, machine))
        .transpose()?;
    let deployment = Deployment::embedded();
    let known = |resource: &str| mocks.is_some() || deployment.knows(resource);
    let definition = validate_text(&source.definition, &known)
        .map_err(|e| CliError::Usage(format!("{label}: {e} [Weighbridge.InvalidInput]")))?;
    Ok((definition, mocks))
}

/// A definition file, validated, with its mocks (`--mock`, `--test-case`).
pub fn load_definition(
    path: &str,
    mock: Option<&str>,
    test_case: Option<&str>,
) -> Result<(StateMachine, Option<Mocks>), CliError> {
    parse_source(&file_source(path, mock, test_case)?, &machine_name(path), path)
}

/// Runs `definition` (from a file) on `local`'s backend and clock, its Task states
/// answered by `mocks` or else by the project, from the start or from `from`.
pub fn run_on_local(
    local: &Local,
    (definition, mocks): (&StateMachine, Option<Mocks>),
    (machine, name): (&str, &str),
    input: Value,
    from: Option<Continuation>,
) -> ExecutionResult {
    let deployment = Deployment::embedded();
    let env = demo_env();
    let project = TaskResources::local(&local.backend, &env, &deployment);
    let resources = MockedResources::new(mocks.unwrap_or_default(), Some(&project));
    let clock = local.backend.clock();
    local.runtime.block_on(resume(
        definition,
        input,
        &execution_spec(machine, name),
        (&resources, clock.as_ref()),
        from,
    ))
}

/// Runs the definition in `args.machine` to its end (or its first wait for a task
/// token) as execution `name`; the result and the definition it ran.
pub fn run_definition(
    args: &RunArgs,
    local: &Local,
    name: &str,
    input: Value,
) -> Result<(ExecutionResult, Source), CliError> {
    let machine = machine_name(&args.machine);
    let source = file_source(&args.machine, args.mock.as_deref(), args.test_case.as_deref())?;
    let (definition, mocks) = parse_source(&source, &machine, &args.machine)?;
    let result = run_on_local(local, (&definition, mocks), (&machine, name), input, None);
    Ok((result, Source::File(source)))
}
