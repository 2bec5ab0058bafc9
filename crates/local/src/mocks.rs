//! Mocked Task answers for running any state machine (`weighbridge run FILE --mock
//! MOCKS.json`), in the mock-config format of AWS's retired Step Functions Local:
//!
//! ```json
//! {"StateMachines": {"Orders": {"TestCases": {"HappyPath": {"Charge": "ChargeOk"}}}},
//!  "MockedResponses": {"ChargeOk": {"0": {"Throw": {"Error": "Busy", "Cause": "try later"}},
//!                                   "1-2": {"Return": {"StatusCode": 200}}}}}
//! ```
//!
//! A test case maps state names to mocked responses; a response answers by the number of
//! times its state has been called in the execution (`"0"`, ranges `"1-2"`), with a
//! `Return` value or a `Throw` of an error and cause. A Task state without a mock goes to
//! the fallback resources (this project's functions), if the caller gave any.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;
use weighbridge_asl::interpreter::{Resources, TaskContext};
use weighbridge_asl::Failure;

/// One mocked answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The task's result.
    Return(Value),
    /// The task's failure.
    Throw {
        /// The error name.
        error: String,
        /// The cause.
        cause: String,
    },
}

/// A mocked response: answers by call number (inclusive ranges).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MockedResponse {
    answers: Vec<(u64, u64, Answer)>,
}

impl MockedResponse {
    fn answer(&self, call: u64) -> Option<&Answer> {
        self.answers
            .iter()
            .find(|(from, to, _)| (*from..=*to).contains(&call))
            .map(|(_, _, a)| a)
    }
}

/// The mocks of one test case: state name → response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mocks {
    states: BTreeMap<String, MockedResponse>,
}

impl Mocks {
    /// Reads a mock config and picks `test_case` of `state_machine` (either may be left
    /// out when the file has only one).
    pub fn from_config(
        text: &str,
        state_machine: Option<&str>,
        test_case: Option<&str>,
    ) -> Result<Mocks, String> {
        let config: Value =
            serde_json::from_str(text).map_err(|e| format!("the mock config is not JSON: {e}"))?;
        let machines = config["StateMachines"]
            .as_object()
            .ok_or("the mock config needs a \"StateMachines\" object")?;
        let (machine_name, machine) = pick(machines, state_machine, "state machine")?;
        let cases = machine["TestCases"]
            .as_object()
            .ok_or_else(|| format!("state machine {machine_name:?} needs a \"TestCases\" object"))?;
        let (case_name, case) = pick(cases, test_case, "test case")?;
        let case = case
            .as_object()
            .ok_or_else(|| format!("test case {case_name:?} must map state names to mocked responses"))?;
        let mut states = BTreeMap::new();
        for (state, response_name) in case {
            let response_name = response_name.as_str().ok_or_else(|| {
                format!("test case {case_name:?}: state {state:?} must name a mocked response")
            })?;
            let response = config["MockedResponses"].get(response_name).ok_or_else(|| {
                format!(
                    "mocked response {response_name:?} (for state {state:?}) is not in \"MockedResponses\""
                )
            })?;
            states.insert(state.clone(), parse_response(response_name, response)?);
        }
        Ok(Mocks { states })
    }

    /// Whether `state` is mocked.
    pub fn covers(&self, state: &str) -> bool {
        self.states.contains_key(state)
    }
}

/// The entry called `wanted`, or the only one.
fn pick<'a>(
    map: &'a serde_json::Map<String, Value>,
    wanted: Option<&str>,
    what: &str,
) -> Result<(&'a String, &'a Value), String> {
    match wanted {
        Some(name) => map
            .get_key_value(name)
            .ok_or_else(|| format!("the mock config has no {what} {name:?}; it has: {}", names(map))),
        None if map.len() == 1 => map.iter().next().ok_or_else(|| format!("no {what}")),
        None => Err(format!(
            "the mock config has several {what}s ({}); name one",
            names(map)
        )),
    }
}

fn names(map: &serde_json::Map<String, Value>) -> String {
    map.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// `{"0": {"Return": …}, "1-2": {"Throw": {"Error": …, "Cause": …}}}`.
fn parse_response(name: &str, response: &Value) -> Result<MockedResponse, String> {
    let entries = response
        .as_object()
        .ok_or_else(|| format!("mocked response {name:?} must be an object of call numbers"))?;
    let mut answers = Vec::new();
    for (key, answer) in entries {
        let bad =
            || format!("mocked response {name:?}: {key:?} is not a call number or range (\"0\", \"1-2\")");
        let (from, to) = match key.split_once('-') {
            Some((a, b)) => (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            ),
            None => {
                let n = key.trim().parse().map_err(|_| bad())?;
                (n, n)
            }
        };
        let answer = match (answer.get("Return"), answer.get("Throw")) {
            (Some(v), None) => Answer::Return(v.clone()),
            (None, Some(t)) => Answer::Throw {
                error: t["Error"].as_str().unwrap_or("States.TaskFailed").to_string(),
                cause: t["Cause"].as_str().unwrap_or_default().to_string(),
            },
            _ => {
                return Err(format!(
                    "mocked response {name:?} {key:?} needs exactly one of Return or Throw"
                ))
            }
        };
        answers.push((from, to, answer));
    }
    Ok(MockedResponse { answers })
}

/// Resources that answer mocked states from the mocks and the others from `fallback`.
pub struct MockedResources<'a> {
    mocks: Mocks,
    fallback: Option<&'a dyn Resources>,
}

impl<'a> MockedResources<'a> {
    /// Mocks first, then `fallback` (none: an unmocked Task state fails).
    pub fn new(mocks: Mocks, fallback: Option<&'a dyn Resources>) -> Self {
        Self { mocks, fallback }
    }
}

#[async_trait]
impl Resources for MockedResources<'_> {
    async fn call(&self, resource: &str, parameters: Value, task: &TaskContext) -> Result<Value, Failure> {
        let Some(response) = self.mocks.states.get(&task.state_name) else {
            return match self.fallback {
                Some(f) => f.call(resource, parameters, task).await,
                None => Err(Failure::new(
                    "States.Runtime",
                    format!("state {:?} ({resource}) has no mocked response", task.state_name),
                )),
            };
        };
        let call = task.call_number;
        match response.answer(call) {
            Some(Answer::Return(v)) => Ok(v.clone()),
            Some(Answer::Throw { error, cause }) => Err(Failure::new(error.clone(), cause.clone())),
            None => Err(Failure::new(
                "States.Runtime",
                format!(
                    "state {:?}: the mocked response has no answer for call {call}",
                    task.state_name
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const CONFIG: &str = r#"{
      "StateMachines": {"Orders": {"TestCases": {"Happy": {"Charge": "Flaky"}, "Sad": {"Charge": "Down"}}}},
      "MockedResponses": {
        "Flaky": {"0": {"Throw": {"Error": "Busy", "Cause": "later"}}, "1-2": {"Return": {"ok": true}}},
        "Down": {"0-9": {"Throw": {"Error": "Gone"}}}
      }
    }"#;

    fn task(state: &str, call_number: u64) -> TaskContext {
        TaskContext {
            execution_name: "e".into(),
            state_name: state.into(),
            retry_count: 0,
            call_number,
        }
    }

    #[tokio::test]
    async fn answers_by_call_number_then_runs_out() {
        let mocks = Mocks::from_config(CONFIG, None, Some("Happy")).unwrap();
        let r = MockedResources::new(mocks, None);
        let first = r.call("arn:x", json!({}), &task("Charge", 0)).await.unwrap_err();
        assert_eq!((first.error.as_str(), first.cause.as_str()), ("Busy", "later"));
        for n in [1, 2] {
            assert_eq!(
                r.call("arn:x", json!({}), &task("Charge", n)).await.unwrap(),
                json!({"ok": true})
            );
        }
        assert!(r
            .call("arn:x", json!({}), &task("Charge", 3))
            .await
            .unwrap_err()
            .cause
            .contains("call 3"));
        let unmocked = r.call("arn:x", json!({}), &task("Ship", 0)).await.unwrap_err();
        assert!(unmocked.cause.contains("no mocked response"), "{unmocked}");
    }

    #[test]
    fn a_config_that_cannot_be_used_says_why() {
        assert!(Mocks::from_config(CONFIG, None, None)
            .unwrap_err()
            .contains("several test cases (Happy, Sad)"));
        assert!(Mocks::from_config(CONFIG, Some("Nope"), None)
            .unwrap_err()
            .contains("no state machine \"Nope\""));
        let bad_key = r#"{"StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}}, "MockedResponses": {"R": {"first": {"Return": 1}}}}"#;
        assert!(Mocks::from_config(bad_key, None, None)
            .unwrap_err()
            .contains("not a call number"));
        let missing = r#"{"StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}}, "MockedResponses": {}}"#;
        assert!(Mocks::from_config(missing, None, None)
            .unwrap_err()
            .contains("\"R\""));
    }
}
