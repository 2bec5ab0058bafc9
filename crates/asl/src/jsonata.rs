//! JSONata in the States Language (`QueryLanguage: "JSONata"`): a string `{% … %}` in
//! `Arguments`, `Output`, `Assign`, `Items`, `Condition` and the other JSONata fields is an
//! expression, evaluated by `jsonata-core` (chosen by the JSONata project's own test suite:
//! 1,672 of 1,673 cases, see `tests/jsonata_suite.rs`) with `$states` and the workflow's variables bound. A
//! failure is `States.QueryEvaluationError` with AWS's wording (recorded executions):
//! "The JSONata expression '…' specified for the field 'Output/result' returned nothing
//! (undefined)." / "… threw an error during evaluation. …".

use jsonata_core::evaluator::{Context, Evaluator, EvaluatorOptions};
use jsonata_core::parser;
use jsonata_core::value::JValue;
use serde_json::{Map, Value};

use crate::Failure;

/// The error name of every JSONata failure.
pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

/// Longest an expression may run, and how deep it may nest: a hostile definition stops
/// with an error instead of hanging or overflowing the stack.
const TIMEOUT_MS: u64 = 10_000;
const MAX_STACK_DEPTH: usize = 2_000;

/// What an expression sees: `$states` and the variables in scope.
#[derive(Debug, Clone, Default)]
pub struct Bindings {
    /// `$states`: `input`, `result`, `errorOutput`, `context` (those that apply).
    pub states: Map<String, Value>,
    /// Workflow variables (`Assign`), visible as `$name`.
    pub variables: Map<String, Value>,
}

/// The expression inside `{% … %}`, if `text` is one (surrounding whitespace allowed).
pub fn expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{%")?.strip_suffix("%}")?;
    Some(inner.trim())
}

/// Whether `expr` parses as JSONata (for validation), with the parser's complaint.
pub fn check(expr: &str) -> Result<(), String> {
    parser::parse(expr).map(|_| ()).map_err(|e| e.to_string())
}

/// Evaluates one expression for `field` (`Output/result`, `Items`, …).
pub fn evaluate(expr: &str, field: &str, bindings: &Bindings) -> Result<Value, Failure> {
    let failed = |why: String| {
        Failure::new(
            QUERY_EVALUATION_ERROR,
            format!("The JSONata expression '{expr}' specified for the field '{field}' {why}"),
        )
    };
    let ast = parser::parse(expr).map_err(|e| failed(format!("could not be parsed. {e}")))?;
    let mut context = Context::new();
    context.bind(
        "states".to_string(),
        JValue::from(Value::Object(bindings.states.clone())),
    );
    for (name, value) in &bindings.variables {
        context.bind(name.clone(), JValue::from(value.clone()));
    }
    let options = EvaluatorOptions {
        timeout_ms: Some(TIMEOUT_MS),
        max_stack_depth: Some(MAX_STACK_DEPTH),
        ..EvaluatorOptions::default()
    };
    let input = bindings
        .states
        .get("input")
        .map_or(JValue::Undefined, |v| JValue::from(v.clone()));
    let result = Evaluator::with_options(context, options)
        .evaluate(&ast, &input)
        .map_err(|e| failed(format!("threw an error during evaluation. {e}")))?;
    match result {
        JValue::Undefined => Err(failed("returned nothing (undefined).".into())),
        JValue::Lambda(_) => Err(failed("returned an unsupported result type.".into())),
        value => value
            .to_json_string()
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .ok_or_else(|| failed("returned an unsupported result type.".into())),
    }
}

/// A JSONata field's value: every `{% … %}` string inside it evaluated (objects and
/// arrays walked, keys kept), every other value as written. `field` names the place in
/// AWS's messages (`Arguments/FunctionName`).
pub fn template(value: &Value, field: &str, bindings: &Bindings) -> Result<Value, Failure> {
    match value {
        Value::String(text) => match expression(text) {
            Some(expr) => evaluate(expr, field, bindings),
            None => Ok(value.clone()),
        },
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map {
                out.insert(key.clone(), template(v, &format!("{field}/{key}"), bindings)?);
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| template(v, &format!("{field}[{i}]"), bindings))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// Every `{% … %}` expression inside a template, with where it is (for validation).
pub fn expressions<'a>(value: &'a Value, field: &str, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(text) => {
            if let Some(expr) = expression(text) {
                found.push((field.to_string(), expr));
            }
        }
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| expressions(v, &format!("{field}/{k}"), found)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| expressions(v, &format!("{field}[{i}]"), found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn with_input(input: Value) -> Bindings {
        let mut b = Bindings::default();
        b.states.insert("input".into(), input);
        b
    }

    #[test]
    fn templates_evaluate_expressions_and_keep_literals() {
        let mut b = with_input(json!({"a": 2, "items": [1, 2, 3]}));
        b.variables.insert("limit".into(), json!(10));
        let t = json!({
            "sum": "{% $sum($states.input.items) %}",
            "scaled": "{% $states.input.a * $limit %}",
            "literal": "stays",
            "nested": ["{% $states.input.a > 1 %}", 3]
        });
        assert_eq!(
            template(&t, "Output", &b).unwrap(),
            json!({"sum": 6, "scaled": 20, "literal": "stays", "nested": [true, 3]})
        );
    }

    #[test]
    fn failures_are_query_evaluation_errors_in_aws_words() {
        let b = with_input(json!({}));
        let undefined = template(&json!({"result": "{% $doesNotExist %}"}), "Output", &b).unwrap_err();
        assert_eq!(undefined.error, QUERY_EVALUATION_ERROR);
        assert_eq!(
            undefined.cause,
            "The JSONata expression '$doesNotExist' specified for the field 'Output/result' returned nothing (undefined)."
        );
        let thrown = evaluate("$x()", "Output", &b).unwrap_err();
        assert!(
            thrown.cause.contains("threw an error during evaluation"),
            "{}",
            thrown.cause
        );
        let lambda = evaluate("function($x){$x}", "Items", &b).unwrap_err();
        assert!(
            lambda.cause.ends_with("returned an unsupported result type."),
            "{}",
            lambda.cause
        );
        assert!(check("$a +").is_err() && check("$a + 1").is_ok());
        assert_eq!(expression("  {% 1 + 1 %} "), Some("1 + 1"));
        assert_eq!(expression("{% 1"), None);
    }
}
