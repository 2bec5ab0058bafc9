//! Task inputs as strict JSON: an event must be a JSON object within Step Functions'
//! payload quota, and a field a task does not know is an error (with a "did you mean"
//! for near misses) — a misspelt safety flag such as `dryrun` must never be dropped
//! silently. Every task parses its input here, on AWS and locally alike.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::validation::MAX_INPUT_BYTES;
use crate::TaskError;

/// Checks that `event` is a JSON object no larger than a Step Functions payload.
pub fn check_event(event: &Value) -> Result<(), TaskError> {
    let kind = match event {
        Value::Object(_) => None,
        Value::Array(_) => Some("an array"),
        Value::String(_) => Some("a string"),
        Value::Number(_) => Some("a number"),
        Value::Bool(_) => Some("a boolean"),
        Value::Null => Some("null"),
    };
    if let Some(kind) = kind {
        return Err(TaskError::InvalidInput(format!(
            "the task input is {kind}; it must be a JSON object (see events/ for a sample)"
        )));
    }
    let size = serde_json::to_vec(event).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_INPUT_BYTES {
        return Err(TaskError::InvalidInput(format!(
            "the task input is {size} bytes; Step Functions passes at most {MAX_INPUT_BYTES} (keep large data in S3)"
        )));
    }
    Ok(())
}

/// Parses a task's JSON input: an object, every field known, each value of its type.
/// The message names the field's path and, for an unknown field, the nearest known one.
pub fn parse_input<T: DeserializeOwned>(event: Value) -> Result<T, TaskError> {
    check_event(&event)?;
    serde_path_to_error::deserialize(event).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let at = if path == "." || path.is_empty() {
            String::new()
        } else {
            format!(" at {path}")
        };
        TaskError::InvalidInput(format!(
            "the task input does not parse{at}: {inner}{}",
            hint(&inner)
        ))
    })
}

/// " (did you mean `x`?)" when serde's "unknown field `a`, expected one of `x`, `y`"
/// names a known field close to the unknown one.
fn hint(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return String::new();
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return String::new();
    };
    let known = expected.split('`').skip(1).step_by(2);
    let best = known
        .map(|k| {
            (
                strsim::jaro_winkler(&unknown.to_lowercase(), &k.to_lowercase()),
                k,
            )
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    best.map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        #[serde(default)]
        dry_run: bool,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        #[serde(default)]
        max_step: f64,
    }

    #[test]
    fn misspelt_fields_are_named_with_the_near_miss() {
        let e = parse_input::<Sample>(serde_json::json!({"dryrun": true})).unwrap_err();
        assert!(e.to_string().contains("did you mean `dryRun`?"), "{e}");
        let e = parse_input::<Sample>(serde_json::json!({"inner": {"maxstep": 0.2}})).unwrap_err();
        assert!(e.to_string().contains("at inner"), "{e}");
        assert!(e.to_string().contains("did you mean `maxStep`?"), "{e}");
        let e = parse_input::<Sample>(serde_json::json!({"zzzzzz": 1})).unwrap_err();
        assert!(!e.to_string().contains("did you mean"), "{e}");
    }

    #[test]
    fn events_that_are_not_objects_are_invalid_input() {
        for v in [
            serde_json::json!([]),
            serde_json::json!(42),
            serde_json::json!("x"),
            Value::Null,
        ] {
            let e = parse_input::<Sample>(v).unwrap_err();
            assert_eq!(e.name(), "Weighbridge.InvalidInput");
            assert!(e.to_string().contains("must be a JSON object"), "{e}");
        }
        let big = serde_json::json!({"x": "y".repeat(MAX_INPUT_BYTES)});
        assert!(check_event(&big).unwrap_err().to_string().contains("at most"));
    }
}
