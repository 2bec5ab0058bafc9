//! `validate` accepts the project's own state machines and rejects broken copies with
//! a message that names the state and the problem.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use serde_json::{json, Value};
use weighbridge_asl::validate::validate_text;
use weighbridge_asl::AslError;

fn known(resource: &str) -> bool {
    resource == "arn:aws:states:::lambda:invoke"
        || resource.starts_with("arn:aws:states:::aws-sdk:sagemaker:")
}

fn project(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../statemachines")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn problems(machine: &Value) -> Vec<String> {
    match validate_text(&machine.to_string(), &known) {
        Ok(_) => Vec::new(),
        Err(AslError::Invalid(p)) => p,
        Err(e) => vec![e.to_string()],
    }
}

#[test]
fn the_project_state_machines_are_valid() {
    for name in ["retrain.asl.json", "ab-evaluation.asl.json"] {
        assert_eq!(problems(&project(name)), Vec::<String>::new(), "{name}");
    }
}

/// Applies `edit` to a copy of retrain and expects a problem containing `says`.
fn broken(edit: impl FnOnce(&mut Value), says: &str) {
    let mut m = project("retrain.asl.json");
    edit(&mut m);
    let found = problems(&m);
    assert!(
        found.iter().any(|p| p.contains(says)),
        "expected {says:?} in {found:#?}"
    );
}

#[test]
fn broken_copies_say_what_is_wrong() {
    broken(
        |m| m["StartAt"] = json!("Nowhere"),
        "StartAt \"Nowhere\" is not a state",
    );
    broken(
        |m| m["States"]["Train"]["Next"] = json!("Ghost"),
        "Train (Task): Next \"Ghost\" is not a state",
    );
    broken(
        |m| {
            m["States"]["Train"].as_object_mut().unwrap().remove("Resource");
        },
        "Train (Task): needs a Resource",
    );
    broken(
        |m| m["States"]["Train"]["Resource"] = json!("arn:aws:states:::sqs:sendMessage"),
        "is not a resource this runner can call",
    );
    broken(
        |m| m["States"]["Orphan"] = json!({"Type": "Succeed"}),
        "Orphan: unreachable",
    );
    broken(
        |m| {
            m["States"]["PrepareTraining"]
                .as_object_mut()
                .unwrap()
                .remove("Next");
        },
        "PrepareTraining (Pass): needs Next or \"End\": true",
    );
    broken(
        |m| m["States"]["PrepareTraining"]["ResultPath"] = json!("$..x"),
        "is not a reference path",
    );
    broken(
        |m| m["States"]["DescribeTrainingJob"]["Parameters"]["TrainingJobName.$"] = json!("job"),
        "neither a path nor an intrinsic",
    );
    broken(
        |m| {
            m["States"]["CountTrainingPoll"]["Parameters"]["count.$"] =
                json!("States.MathAdd($.poll.count, 1")
        },
        "expected , or )",
    );
    broken(
        |m| m["States"]["Train"]["Retry"][0]["ErrorEquals"] = json!(["States.ALL", "X"]),
        "States.ALL must be alone",
    );
    broken(
        |m| m["States"]["Train"]["Retry"][0]["JitterStrategy"] = json!("SOME"),
        "must be FULL or NONE",
    );
    broken(
        |m| m["States"]["Train"]["Catch"][0]["ErrorEquals"] = json!([]),
        "empty ErrorEquals",
    );
    broken(
        |m| m["States"]["TrainingJobStatus"]["Choices"][0]["Bogus"] = json!(1),
        "exactly one comparison operator",
    );
    broken(
        |m| m["States"]["TrainingJobStatus"]["Choices"][0]["Variable"] = json!("nope"),
        "Variable \"nope\" is not a valid path",
    );
    broken(
        |m| m["States"]["WaitForTraining"]["SecondsPath"] = json!("$.x"),
        "exactly one of Seconds",
    );
    broken(
        |m| m["States"]["TrainNotStarted"]["Error"] = json!("X"),
        "both Error and ErrorPath",
    );
    broken(
        |m| m["States"]["Rejected"]["Resource"] = json!("arn:aws:states:::lambda:invoke"),
        "Resource does not belong to a Pass state",
    );
    // A JSONPath machine switched to JSONata keeps its JSONPath fields: each is named.
    broken(
        |m| m["QueryLanguage"] = json!("JSONata"),
        "Parameters is a JSONPath field; a JSONata state uses Arguments, Output",
    );
    broken(
        |m| m["QueryLanguage"] = json!("YAMLPath"),
        "must be JSONPath or JSONata",
    );
    let err = validate_text(
        r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Nxt": "B"}}}"#,
        &known,
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown field `Nxt`"), "{err}");
}

#[test]
fn nested_scopes_are_validated_too() {
    let mut m = project("ab-evaluation.asl.json");
    m["States"]["RollBackEachLoser"]["ItemProcessor"]["States"]["RollBack"]["Next"] = json!("Done");
    let found = problems(&m);
    assert!(
        found.iter().any(|p| p.contains(
            "RollBackEachLoser.ItemProcessor.RollBack (Task): Next \"Done\" is not a state in this scope"
        )),
        "{found:#?}"
    );
}
