//! Validation of a JSONata state: the JSONPath-only fields are refused (AWS replaces the
//! five I/O paths with `Arguments` and `Output`), every `{% … %}` must parse, Choice rules
//! carry a `Condition`, and the type's own needs (a Resource, Branches, an ItemProcessor).

use serde_json::Value;

use crate::definition::{State, StateKind};
use crate::jsonata;

/// The JSONPath fields a JSONata state must not have.
fn jsonpath_only_fields(s: &State) -> Vec<&'static str> {
    [
        ("InputPath", s.input_path.is_some()),
        ("OutputPath", s.output_path.is_some()),
        ("Parameters", s.parameters.is_some()),
        ("ResultSelector", s.result_selector.is_some()),
        ("ResultPath", s.result_path.is_some()),
        ("ItemsPath", s.items_path.is_some()),
        ("Result", s.result.is_some()),
        ("SecondsPath", s.seconds_path.is_some()),
        ("TimestampPath", s.timestamp_path.is_some()),
        ("TimeoutSecondsPath", s.timeout_seconds_path.is_some()),
        ("HeartbeatSecondsPath", s.heartbeat_seconds_path.is_some()),
        ("ErrorPath", s.error_path.is_some()),
        ("CausePath", s.cause_path.is_some()),
        ("MaxConcurrencyPath", s.max_concurrency_path.is_some()),
    ]
    .into_iter()
    .filter(|(_, present)| *present)
    .map(|(field, _)| field)
    .collect()
}

/// The templates of a state, by field name, that may hold `{% … %}`.
fn templates(s: &State) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = [
        ("Arguments", &s.arguments),
        ("Output", &s.output),
        ("Assign", &s.assign),
        ("Items", &s.items),
        ("ItemSelector", &s.item_selector),
        ("Seconds", &s.seconds),
        ("ItemReader", &s.item_reader),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.clone().map(|v| (f.to_string(), v)))
    .collect();
    for (field, text) in [
        ("Timestamp", &s.timestamp),
        ("Error", &s.error),
        ("Cause", &s.cause),
    ] {
        if let Some(t) = text {
            out.push((field.to_string(), Value::String(t.clone())));
        }
    }
    for (i, rule) in s.choices.iter().flatten().enumerate() {
        for key in ["Condition", "Output", "Assign"] {
            if let Some(v) = rule.get(key) {
                out.push((format!("Choices[{i}].{key}"), v.clone()));
            }
        }
    }
    for (i, c) in s.catch.iter().flatten().enumerate() {
        for (key, v) in [("Output", &c.output), ("Assign", &c.assign)] {
            if let Some(v) = v {
                out.push((format!("Catch[{i}].{key}"), v.clone()));
            }
        }
    }
    out
}

/// Every problem of a JSONata state's fields.
pub(crate) fn check(s: &State, problem: &mut dyn FnMut(String)) {
    for field in jsonpath_only_fields(s) {
        problem(format!(
            "{field} is a JSONPath field; a JSONata state uses Arguments, Output and {{% … %}} expressions"
        ));
    }
    for (i, c) in s.catch.iter().flatten().enumerate() {
        if c.result_path.is_some() {
            problem(format!("Catch[{i}].ResultPath is a JSONPath field; use Output"));
        }
    }
    let kind = s.kind;
    let misplaced = [
        (
            "Arguments",
            s.arguments.is_some(),
            matches!(kind, StateKind::Task | StateKind::Parallel),
        ),
        ("Output", s.output.is_some(), kind != StateKind::Fail),
        (
            "Assign",
            s.assign.is_some(),
            !matches!(kind, StateKind::Succeed | StateKind::Fail),
        ),
        ("Items", s.items.is_some(), kind == StateKind::Map),
    ];
    for (field, present, allowed) in misplaced {
        if present && !allowed {
            problem(format!("{field} does not belong to a {kind:?} state"));
        }
    }
    for (field, template) in templates(s) {
        let mut found = Vec::new();
        jsonata::expressions(&template, &field, &mut found);
        for (at, expr) in found {
            if let Err(e) = jsonata::check(expr) {
                problem(format!(
                    "{at}: the JSONata expression {expr:?} does not parse: {e}"
                ));
            }
        }
    }
    if kind == StateKind::Choice {
        for (i, rule) in s.choices.iter().flatten().enumerate() {
            let condition_ok = match rule.get("Condition") {
                Some(Value::Bool(_)) => true,
                Some(Value::String(t)) => jsonata::expression(t).is_some(),
                _ => false,
            };
            if !condition_ok {
                problem(format!(
                    "Choices[{i}] needs a Condition: a {{% … %}} expression or a boolean"
                ));
            }
            if rule.get("Next").and_then(Value::as_str).is_none() {
                problem(format!("Choices[{i}] needs a Next"));
            }
        }
    }
}

/// Fields only a JSONata state may have, found in a JSONPath state.
pub(crate) fn check_not_in_jsonpath(s: &State, problem: &mut dyn FnMut(String)) {
    for (field, present) in [
        ("Arguments", s.arguments.is_some()),
        ("Output", s.output.is_some()),
        ("Items", s.items.is_some()),
    ] {
        if present {
            problem(format!(
                "{field} is a JSONata field; set \"QueryLanguage\": \"JSONata\" on the state or the machine"
            ));
        }
    }
}
