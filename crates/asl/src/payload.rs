//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`): a JSON value
//! whose fields ending in `.$` are replaced by a path's value or an intrinsic's result.

use serde_json::{Map, Value};

use crate::{intrinsics, paths, Failure};

/// Evaluates a template against the state's effective input and the context object.
/// Nested objects are evaluated too; arrays are kept as written.
pub fn evaluate(template: &Value, input: &Value, context: &Value) -> Result<Value, Failure> {
    match template {
        Value::Object(fields) => {
            let mut out = Map::new();
            for (key, value) in fields {
                match key.strip_suffix(".$") {
                    Some(name) => {
                        let expression = value.as_str().ok_or_else(|| {
                            Failure::runtime(format!(
                                "the value of {key:?} must be a path or an intrinsic function"
                            ))
                        })?;
                        out.insert(name.to_string(), dynamic(expression, input, context)?);
                    }
                    None => {
                        out.insert(key.clone(), evaluate(value, input, context)?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        other => Ok(other.clone()),
    }
}

/// A `.$` value: a path (`$…`, `$$…`) or an intrinsic call (`States.…(…)`).
pub fn dynamic(expression: &str, input: &Value, context: &Value) -> Result<Value, Failure> {
    if expression.starts_with("States.") {
        intrinsics::evaluate(expression, input, context)
    } else {
        paths::read(expression, input, context)
    }
}

/// Every `.$` expression in a template, with its key (for validation).
pub fn expressions(template: &Value, out: &mut Vec<(String, Value)>) {
    if let Value::Object(fields) = template {
        for (key, value) in fields {
            if key.ends_with(".$") {
                out.push((key.clone(), value.clone()));
            } else {
                expressions(value, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn templates_fill_paths_intrinsics_and_nested_objects() {
        let template = json!({
            "static": [1, {"kept.$": "as written"}],
            "name.$": "$$.Execution.Name",
            "nested": {"v.$": "$.a", "sum.$": "States.MathAdd($.a, 1)"}
        });
        let out = evaluate(&template, &json!({"a": 2}), &json!({"Execution": {"Name": "e"}})).unwrap();
        assert_eq!(
            out,
            json!({"static": [1, {"kept.$": "as written"}], "name": "e", "nested": {"v": 2, "sum": 3}})
        );
        let err = evaluate(&json!({"x.$": 5}), &json!({}), &json!({})).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }
}
