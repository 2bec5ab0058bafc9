//! Validation before execution, with messages that name the state and say what to fix:
//! missing or unreachable states, bad `Next`, fields that do not belong to a state
//! type, bad paths and intrinsics, the shape of Retry/Catch and Choice rules, and Task
//! resources the caller does not know.

use std::collections::{BTreeSet, VecDeque};

use serde_json::Value;

use crate::definition::{parse, QueryLanguage, State, StateKind, StateMachine};
use crate::{choice, intrinsics, paths, payload, AslError};

/// Parses and validates; `known_resource` says whether a Task's `Resource` can run.
pub fn validate_text(text: &str, known_resource: &dyn Fn(&str) -> bool) -> Result<StateMachine, AslError> {
    let machine = parse(text)?;
    let problems = validate(&machine, known_resource);
    if problems.is_empty() {
        Ok(machine)
    } else {
        Err(AslError::Invalid(problems))
    }
}

/// Every problem of a parsed machine (empty when it is valid).
pub fn validate(machine: &StateMachine, known_resource: &dyn Fn(&str) -> bool) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(q) = &machine.query_language {
        if q != "JSONPath" && q != "JSONata" {
            out.push(format!("QueryLanguage {q:?} must be JSONPath or JSONata"));
        }
    }
    let language = QueryLanguage::of_machine(machine);
    scope(machine, "", language, known_resource, &mut out);
    out
}

/// Validates one scope: the top level, a Parallel branch or a Map item processor, whose
/// states default to the machine's query language.
fn scope(
    machine: &StateMachine,
    prefix: &str,
    language: QueryLanguage,
    known_resource: &dyn Fn(&str) -> bool,
    out: &mut Vec<String>,
) {
    let at = |name: &str| format!("{prefix}{name}");
    if !machine.states.contains_key(&machine.start_at) {
        out.push(format!("{prefix}StartAt {:?} is not a state", machine.start_at));
    }
    if machine.states.is_empty() {
        out.push(format!("{prefix}States is empty"));
    }
    for (name, state) in &machine.states {
        check_state(&at(name), state, (machine, language), known_resource, out);
    }
    for name in unreachable(machine) {
        out.push(format!(
            "{}: unreachable from StartAt {:?}",
            at(&name),
            machine.start_at
        ));
    }
}

fn targets(state: &State) -> Vec<String> {
    let mut t: Vec<String> = state.next.iter().chain(&state.default).cloned().collect();
    for rule in state.choices.iter().flatten() {
        if let Some(n) = rule["Next"].as_str() {
            t.push(n.to_string());
        }
    }
    for c in state.catch.iter().flatten() {
        t.push(c.next.clone());
    }
    t
}

fn unreachable(machine: &StateMachine) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([machine.start_at.clone()]);
    while let Some(name) = queue.pop_front() {
        if let Some(state) = machine.states.get(&name) {
            if seen.insert(name) {
                queue.extend(targets(state));
            }
        }
    }
    machine
        .states
        .keys()
        .filter(|k| !seen.contains(*k))
        .cloned()
        .collect()
}

fn check_state(
    name: &str,
    s: &State,
    (machine, default_language): (&StateMachine, QueryLanguage),
    known_resource: &dyn Fn(&str) -> bool,
    out: &mut Vec<String>,
) {
    let mut problems = Vec::new();
    let mut problem = |m: String| problems.push(m);
    let language = QueryLanguage::of(s, default_language);
    check_language(s, default_language, &mut problem);
    check_transitions(s, machine, &mut problem);
    match language {
        QueryLanguage::JsonPath => {
            check_fields_belong(s, &mut problem);
            check_paths_and_templates(s, &mut problem);
            check_kind_rules(s, known_resource, &mut problem);
            crate::validate_jsonata::check_not_in_jsonpath(s, &mut problem);
        }
        QueryLanguage::Jsonata => {
            crate::validate_jsonata::check(s, &mut problem);
            if s.kind != StateKind::Choice && s.kind != StateKind::Wait {
                check_kind_rules(s, known_resource, &mut problem);
            }
        }
    }
    let kind = s.kind;
    out.extend(problems.into_iter().map(|m| format!("{name} ({kind:?}): {m}")));
    for (prefix, inner) in nested_scopes(name, s) {
        scope(inner, &prefix, language, known_resource, out);
    }
    after_retry_catch(name, s, out);
}

/// A state's own `QueryLanguage`: JSONPath or JSONata, and not JSONPath inside a JSONata
/// machine (AWS refuses that mix).
fn check_language(s: &State, default_language: QueryLanguage, problem: &mut dyn FnMut(String)) {
    match s.query_language.as_deref() {
        None | Some("JSONata") => {}
        Some("JSONPath") if default_language == QueryLanguage::Jsonata => problem(
            "is JSONPath inside a JSONata state machine; a JSONata machine's states are all JSONata".into(),
        ),
        Some("JSONPath") => {}
        Some(other) => problem(format!("QueryLanguage {other:?} must be JSONPath or JSONata")),
    }
}

/// Every `Next` names a state of this scope; `Next`/`End` as the state's type wants.
fn check_transitions(s: &State, machine: &StateMachine, problem: &mut dyn FnMut(String)) {
    let kind = s.kind;
    for target in targets(s) {
        if !machine.states.contains_key(&target) {
            problem(format!("Next {target:?} is not a state in this scope"));
        }
    }
    match kind {
        StateKind::Choice | StateKind::Succeed | StateKind::Fail => {
            if s.next.is_some() || s.end.is_some() {
                problem("must not have Next or End".into());
            }
        }
        _ => match (&s.next, s.end) {
            (Some(_), Some(true)) => problem("has both Next and End; keep one".into()),
            (None, None | Some(false)) => problem("needs Next or \"End\": true".into()),
            _ => {}
        },
    }
}

/// Each field present belongs to the state's type.
fn check_fields_belong(s: &State, problem: &mut dyn FnMut(String)) {
    let kind = s.kind;
    let allowed = |field: &str| -> bool {
        use StateKind::*;
        match field {
            "InputPath" | "OutputPath" => kind != Fail,
            "ResultPath" | "Parameters" => matches!(kind, Pass | Task | Parallel | Map),
            "ResultSelector" | "Retry" | "Catch" => matches!(kind, Task | Parallel | Map),
            "Result" => kind == Pass,
            "Resource" | "TimeoutSeconds" | "HeartbeatSeconds" => kind == Task,
            "Choices" | "Default" => kind == Choice,
            "Seconds" | "Timestamp" => kind == Wait,
            "Error" | "Cause" => kind == Fail,
            "Branches" => kind == Parallel,
            "ItemsPath" | "ItemSelector" | "ItemProcessor" | "MaxConcurrency" | "ToleratedFailure"
            | "ItemReader" => kind == Map,
            _ => true,
        }
    };
    let present: [(&str, bool); 21] = [
        ("InputPath", s.input_path.is_some()),
        ("OutputPath", s.output_path.is_some()),
        ("ResultPath", s.result_path.is_some()),
        ("Parameters", s.parameters.is_some() && kind != StateKind::Map),
        ("ResultSelector", s.result_selector.is_some()),
        ("Retry", s.retry.is_some()),
        ("Catch", s.catch.is_some()),
        ("Result", s.result.is_some()),
        ("Resource", s.resource.is_some()),
        (
            "TimeoutSeconds",
            s.timeout_seconds.is_some() || s.timeout_seconds_path.is_some(),
        ),
        (
            "HeartbeatSeconds",
            s.heartbeat_seconds.is_some() || s.heartbeat_seconds_path.is_some(),
        ),
        ("Choices", s.choices.is_some()),
        ("Default", s.default.is_some()),
        ("Seconds", s.seconds.is_some() || s.seconds_path.is_some()),
        ("Timestamp", s.timestamp.is_some() || s.timestamp_path.is_some()),
        ("Error", s.error.is_some() || s.error_path.is_some()),
        ("Cause", s.cause.is_some() || s.cause_path.is_some()),
        ("Branches", s.branches.is_some()),
        (
            "ItemsPath",
            s.items_path.is_some() || s.item_selector.is_some() || s.processor().is_some(),
        ),
        (
            "MaxConcurrency",
            s.max_concurrency.is_some() || s.max_concurrency_path.is_some(),
        ),
        (
            "ItemReader",
            s.item_reader.is_some() || s.item_batcher.is_some() || s.result_writer.is_some(),
        ),
    ];
    for (field, is_present) in present {
        if is_present && !allowed(field) {
            problem(format!("{field} does not belong to a {kind:?} state"));
        }
    }
}

/// Paths are paths, templates hold only paths and intrinsic functions.
fn check_paths_and_templates(s: &State, problem: &mut dyn FnMut(String)) {
    for (field, value) in [("InputPath", &s.input_path), ("OutputPath", &s.output_path)] {
        match value {
            Some(Value::String(p)) if !paths::is_path(p) => {
                problem(format!("{field} {p:?} is not a valid path"))
            }
            Some(Value::String(_) | Value::Null) | None => {}
            Some(other) => problem(format!("{field} must be a path or null, not {other}")),
        }
    }
    check_result_path("ResultPath", &s.result_path, problem);
    for (field, template) in [
        ("Parameters", &s.parameters),
        ("ResultSelector", &s.result_selector),
        ("ItemSelector", &s.item_selector),
        ("Assign", &s.assign),
    ] {
        if let Some(t) = template {
            let mut found = Vec::new();
            payload::expressions(t, &mut found);
            for (key, value) in found {
                match value.as_str() {
                    Some(e) if e.starts_with("States.") => {
                        if let Err(f) = intrinsics::check(e) {
                            problem(format!("{field}.{key}: {}", f.cause));
                        }
                    }
                    Some(p) if paths::is_path(p) => {}
                    _ => problem(format!(
                        "{field}.{key}: {value} is neither a path nor an intrinsic function"
                    )),
                }
            }
        }
    }
    for (field, p) in [
        ("ItemsPath", &s.items_path),
        ("SecondsPath", &s.seconds_path),
        ("TimestampPath", &s.timestamp_path),
        ("TimeoutSecondsPath", &s.timeout_seconds_path),
        ("HeartbeatSecondsPath", &s.heartbeat_seconds_path),
        ("MaxConcurrencyPath", &s.max_concurrency_path),
        ("ErrorPath", &s.error_path),
        ("CausePath", &s.cause_path),
    ] {
        if let Some(p) = p {
            let ok = paths::is_path(p) || (p.starts_with("States.") && intrinsics::check(p).is_ok());
            if !ok {
                problem(format!("{field} {p:?} is not a valid path"));
            }
        }
    }
}

/// The rules of the state's own type (Task, Choice, Wait, Fail, Parallel, Map).
fn check_kind_rules(s: &State, known_resource: &dyn Fn(&str) -> bool, problem: &mut dyn FnMut(String)) {
    let kind = s.kind;
    for (field, fixed, path) in [
        (
            "TimeoutSeconds",
            s.timeout_seconds.is_some(),
            s.timeout_seconds_path.is_some(),
        ),
        (
            "HeartbeatSeconds",
            s.heartbeat_seconds.is_some(),
            s.heartbeat_seconds_path.is_some(),
        ),
        (
            "MaxConcurrency",
            s.max_concurrency.is_some(),
            s.max_concurrency_path.is_some(),
        ),
    ] {
        if fixed && path {
            problem(format!("has both {field} and {field}Path; keep one"));
        }
    }
    match kind {
        StateKind::Task => match &s.resource {
            None => problem("needs a Resource".into()),
            Some(r) if !known_resource(r) => {
                problem(format!("Resource {r:?} is not a resource this runner can call"))
            }
            _ => {}
        },
        StateKind::Choice => match &s.choices {
            None => problem("needs Choices".into()),
            Some(rules) if rules.is_empty() => problem("Choices is empty".into()),
            Some(rules) => {
                for (i, rule) in rules.iter().enumerate() {
                    if rule["Next"].as_str().is_none() {
                        problem(format!("Choices[{i}] needs a Next"));
                    }
                    check_rule(rule, &format!("Choices[{i}]"), true, problem);
                }
            }
        },
        StateKind::Wait => {
            let n = [
                s.seconds.is_some(),
                s.seconds_path.is_some(),
                s.timestamp.is_some(),
                s.timestamp_path.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if n != 1 {
                problem("needs exactly one of Seconds, SecondsPath, Timestamp, TimestampPath".into());
            }
            if let Some(seconds) = &s.seconds {
                if seconds.as_u64().is_none() {
                    problem(format!("Seconds {seconds} must be a non-negative integer"));
                }
            }
            if let Some(t) = &s.timestamp {
                if crate::parse_timestamp(t).is_none() {
                    problem(format!("Timestamp {t:?} is not an RFC 3339 timestamp"));
                }
            }
        }
        StateKind::Fail => {
            if s.error.is_some() && s.error_path.is_some() {
                problem("has both Error and ErrorPath".into());
            }
            if s.cause.is_some() && s.cause_path.is_some() {
                problem("has both Cause and CausePath".into());
            }
        }
        StateKind::Parallel => match &s.branches {
            None => problem("needs Branches".into()),
            Some(b) if b.is_empty() => problem("Branches is empty".into()),
            Some(_) => {}
        },
        StateKind::Map => match s.processor() {
            None => problem("needs an ItemProcessor".into()),
            Some(_) => {
                if let Some(t) = s.tolerated_failure_percentage {
                    if !(0.0..=100.0).contains(&t) {
                        problem(format!(
                            "ToleratedFailurePercentage {t} must be between 0 and 100"
                        ));
                    }
                }
            }
        },
        _ => {}
    }
}

/// The scopes inside a Parallel (its branches) or a Map (its processor), with the prefix
/// their problems carry.
fn nested_scopes<'a>(name: &str, s: &'a State) -> Vec<(String, &'a StateMachine)> {
    match s.kind {
        StateKind::Parallel => s
            .branches
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, b)| (format!("{name}.Branches[{i}]."), b))
            .collect(),
        StateKind::Map => s
            .processor()
            .map(|p| vec![(format!("{name}.ItemProcessor."), p)])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

fn check_result_path(field: &str, value: &Option<Value>, problem: &mut dyn FnMut(String)) {
    match value {
        Some(Value::String(p)) if !paths::is_reference_path(p) => problem(format!(
            "{field} {p:?} is not a reference path ($, $.a.b, $['a'][0])"
        )),
        Some(Value::String(_) | Value::Null) | None => {}
        Some(other) => problem(format!("{field} must be a reference path or null, not {other}")),
    }
}

fn check_rule(rule: &Value, at: &str, top: bool, problem: &mut dyn FnMut(String)) {
    let Some(op) = choice::operator_of(rule) else {
        return problem(format!(
            "{at} needs exactly one comparison operator (or And/Or/Not)"
        ));
    };
    if !top && rule.get("Next").is_some() {
        problem(format!("{at}: a nested rule must not have Next"));
    }
    match op {
        "And" | "Or" => match rule[op].as_array() {
            Some(rules) if !rules.is_empty() => {
                for (i, r) in rules.iter().enumerate() {
                    check_rule(r, &format!("{at}.{op}[{i}]"), false, problem);
                }
            }
            _ => problem(format!("{at}.{op} needs a non-empty array of rules")),
        },
        "Not" => check_rule(&rule["Not"], &format!("{at}.Not"), false, problem),
        op if choice::is_operator(op) => match rule["Variable"].as_str() {
            Some(v) if paths::is_path(v) => {
                if op.ends_with("Path") && !rule[op].as_str().is_some_and(paths::is_path) {
                    problem(format!("{at}.{op} must be a path"));
                }
            }
            Some(v) => problem(format!("{at}: Variable {v:?} is not a valid path")),
            None => problem(format!("{at}: {op} needs a Variable")),
        },
        other => problem(format!("{at}: unknown operator {other:?}")),
    }
}

fn after_retry_catch(name: &str, s: &State, out: &mut Vec<String>) {
    let mut problem = |m: String| out.push(format!("{name} ({:?}): {m}", s.kind));
    let check_names = |names: &[String], what: &str, last: bool, problem: &mut dyn FnMut(String)| {
        if names.is_empty() {
            problem(format!("{what} has an empty ErrorEquals"));
        }
        if names.iter().any(|n| n == "States.ALL") && (names.len() > 1 || !last) {
            problem(format!("{what}: States.ALL must be alone in the last entry"));
        }
    };
    for (i, r) in s.retry.iter().flatten().enumerate() {
        let last = i + 1 == s.retry.as_ref().map_or(0, Vec::len);
        check_names(&r.error_equals, &format!("Retry[{i}]"), last, &mut problem);
        if r.interval_seconds < 1.0 || r.backoff_rate < 1.0 {
            problem(format!(
                "Retry[{i}]: IntervalSeconds must be ≥ 1 and BackoffRate ≥ 1"
            ));
        }
        if let Some(j) = &r.jitter_strategy {
            if j != "FULL" && j != "NONE" {
                problem(format!("Retry[{i}]: JitterStrategy {j:?} must be FULL or NONE"));
            }
        }
    }
    for (i, c) in s.catch.iter().flatten().enumerate() {
        let last = i + 1 == s.catch.as_ref().map_or(0, Vec::len);
        check_names(&c.error_equals, &format!("Catch[{i}]"), last, &mut problem);
        check_result_path(&format!("Catch[{i}].ResultPath"), &c.result_path, &mut problem);
    }
}
