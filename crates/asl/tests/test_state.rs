//! `test_state`: one state run once, as the TestState API answers — output, next state,
//! status (SUCCEEDED, FAILED, RETRIABLE, CAUGHT_ERROR) and the data after each step.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use weighbridge_asl::definition::parse;
use weighbridge_asl::interpreter::{
    test_state, ExecutionSpec, InspectionLevel, Resources, TaskContext, TestStateResult, VirtualClock,
};
use weighbridge_asl::Failure;

/// `Echo` answers its input; `Fail` fails with `Busy`.
struct Fakes;

#[async_trait]
impl Resources for Fakes {
    async fn call(&self, resource: &str, p: Value, _: &TaskContext) -> Result<Value, Failure> {
        match resource {
            "arn:aws:lambda:us-east-1:123456789012:function:Echo" => Ok(json!({"echoed": p})),
            _ => Err(Failure::new("Busy", "try later")),
        }
    }
}

async fn test(definition: Value, state: &str, input: Value, level: InspectionLevel) -> TestStateResult {
    let machine = parse(&definition.to_string()).unwrap();
    let clock = VirtualClock::starting_at(Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
    let spec = ExecutionSpec {
        state_machine_name: "t".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:t".into(),
        name: "test".into(),
        role_arn: "arn:aws:iam::123456789012:role/t".into(),
        seed: 1,
    };
    test_state(
        &machine,
        state,
        (input, Default::default()),
        (&spec, &Fakes, &clock),
        level,
    )
    .await
    .unwrap()
}

const ECHO: &str = "arn:aws:lambda:us-east-1:123456789012:function:Echo";
const FAIL: &str = "arn:aws:lambda:us-east-1:123456789012:function:Fail";

#[tokio::test]
async fn debug_shows_the_data_after_each_jsonpath_step() {
    let machine = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": ECHO, "InputPath": "$.order", "Parameters": {"id.$": "$.id"},
              "ResultSelector": {"got.$": "$.echoed.id"}, "ResultPath": "$.result", "OutputPath": "$.result", "Next": "Done"},
        "Done": {"Type": "Succeed"}}});
    let r = test(machine, "T", json!({"order": {"id": 7}}), InspectionLevel::Debug).await;
    assert_eq!(
        (r.status.as_str(), r.next_state.as_deref()),
        ("SUCCEEDED", Some("Done"))
    );
    assert_eq!(r.output, Some(json!({"got": 7})));
    let data = r.inspection_data.unwrap();
    assert_eq!(data["afterInputPath"], json!({"id": 7}));
    assert_eq!(data["afterParameters"], json!({"id": 7}));
    assert_eq!(data["result"], json!({"echoed": {"id": 7}}));
    assert_eq!(data["afterResultSelector"], json!({"got": 7}));
    // ResultPath writes into the state's raw input (not the InputPath selection).
    assert_eq!(
        data["afterResultPath"],
        json!({"order": {"id": 7}, "result": {"got": 7}})
    );
}

#[tokio::test]
async fn a_retry_makes_it_retriable_and_a_catch_caught() {
    let retried = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FAIL,
        "Retry": [{"ErrorEquals": ["Busy"]}], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}], "End": true},
        "H": {"Type": "Succeed"}}});
    let r = test(retried, "T", json!({}), InspectionLevel::Info).await;
    assert_eq!(
        (r.status.as_str(), r.error.as_deref()),
        ("RETRIABLE", Some("Busy"))
    );
    assert!(r.inspection_data.is_none());
    let caught = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FAIL,
        "Catch": [{"ErrorEquals": ["Busy"], "ResultPath": "$.error", "Next": "H"}], "End": true},
        "H": {"Type": "Succeed"}}});
    let r = test(caught, "T", json!({"a": 1}), InspectionLevel::Info).await;
    assert_eq!(
        (r.status.as_str(), r.next_state.as_deref()),
        ("CAUGHT_ERROR", Some("H"))
    );
    assert_eq!(
        r.output,
        Some(json!({"a": 1, "error": {"Error": "Busy", "Cause": "try later"}}))
    );
    let failed = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FAIL, "End": true}}});
    let r = test(failed, "T", json!({}), InspectionLevel::Info).await;
    assert_eq!(
        (r.status.as_str(), r.cause.as_deref()),
        ("FAILED", Some("try later"))
    );
}

#[tokio::test]
async fn choice_names_the_next_state_and_jsonata_shows_arguments_and_variables() {
    let choice = json!({"StartAt": "C", "States": {"C": {"Type": "Choice",
        "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"},
        "Big": {"Type": "Succeed"}, "Small": {"Type": "Succeed"}}});
    assert_eq!(
        test(choice, "C", json!({"n": 5}), InspectionLevel::Info)
            .await
            .next_state
            .as_deref(),
        Some("Big")
    );
    let nata = json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": ECHO,
        "Arguments": {"x": "{% $states.input.v * 2 %}"}, "Assign": {"seen": "{% $states.result.echoed.x %}"},
        "Output": "{% $states.result.echoed %}", "End": true}}});
    let r = test(nata, "T", json!({"v": 21}), InspectionLevel::Trace).await;
    let data = r.inspection_data.unwrap();
    assert_eq!(
        (data["afterArguments"].clone(), data["variables"].clone()),
        (json!({"x": 42}), json!({"seen": 42}))
    );
    assert_eq!(
        (r.status.as_str(), r.output, r.next_state),
        ("SUCCEEDED", Some(json!({"x": 42})), None)
    );
}
