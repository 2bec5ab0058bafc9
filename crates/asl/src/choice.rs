//! Choice rules: every comparison operator of the specification, their `…Path` forms,
//! the `Is…` tests, and `And`/`Or`/`Not`.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use crate::{paths, Failure};

/// The comparison operators (without `Path`) and the tests, as written in a rule.
pub const OPERATORS: [&str; 28] = [
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
    "StringMatches",
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
    "BooleanEquals",
    "TimestampEquals",
    "TimestampLessThan",
    "TimestampGreaterThan",
    "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
    "IsNull",
    "IsPresent",
    "IsNumeric",
    "IsString",
    "IsBoolean",
    "IsTimestamp",
    "And",
    "Or",
    "Not",
    "Variable",
    "Next",
];

/// The one operator key of a rule (`StringEquals`, `NumericLessThanPath`, `And`, …).
pub fn operator_of(rule: &Value) -> Option<&str> {
    let fields = rule.as_object()?;
    let mut ops = fields
        .keys()
        .map(String::as_str)
        .filter(|k| !matches!(*k, "Variable" | "Next" | "Comment"));
    let op = ops.next()?;
    ops.next().is_none().then_some(op)
}

/// Whether `op` is a comparison or test the interpreter knows.
pub fn is_operator(op: &str) -> bool {
    let base = op.strip_suffix("Path").unwrap_or(op);
    OPERATORS[..26].contains(&base)
        && !(op.ends_with("Path") && (base.starts_with("Is") || matches!(base, "And" | "Or" | "Not")))
}

fn timestamp(v: &Value) -> Option<DateTime<FixedOffset>> {
    v.as_str().and_then(crate::parse_timestamp)
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
fn wildcard(pattern: &str, text: &str) -> bool {
    let mut tokens: Vec<Option<char>> = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(chars.next()),
            '*' => tokens.push(None),
            c => tokens.push(Some(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic two-pointer wildcard match with backtracking to the last star.
    let (mut t, mut p, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < tokens.len() && tokens[p] == Some(text[t]) {
            t += 1;
            p += 1;
        } else if p < tokens.len() && tokens[p].is_none() {
            star = Some(p);
            mark = t;
            p += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    tokens[p..].iter().all(Option::is_none)
}

/// Evaluates one rule (a top-level Choice or a nested one) against the input.
pub fn matches(rule: &Value, input: &Value, context: &Value) -> Result<bool, Failure> {
    let op = operator_of(rule)
        .ok_or_else(|| Failure::runtime(format!("a Choice rule needs exactly one operator: {rule}")))?;
    match op {
        "And" | "Or" => {
            let rules = rule[op]
                .as_array()
                .ok_or_else(|| Failure::runtime(format!("{op} needs an array of rules")))?;
            let mut results = rules.iter().map(|r| matches(r, input, context));
            if op == "And" {
                results.try_fold(true, |acc, r| Ok(acc && r?))
            } else {
                results.try_fold(false, |acc, r| Ok(acc || r?))
            }
        }
        "Not" => Ok(!matches(&rule["Not"], input, context)?),
        _ => {
            let variable = rule["Variable"]
                .as_str()
                .ok_or_else(|| Failure::runtime(format!("{op} needs a Variable")))?;
            let value = match paths::read(variable, input, context) {
                Ok(v) => Some(v),
                Err(_) if op == "IsPresent" => None,
                Err(e) => return Err(e),
            };
            let expected = match op.strip_suffix("Path") {
                Some(_) => paths::read(
                    rule[op]
                        .as_str()
                        .ok_or_else(|| Failure::runtime(format!("{op} needs a path")))?,
                    input,
                    context,
                )?,
                None => rule[op].clone(),
            };
            compare(op.strip_suffix("Path").unwrap_or(op), value.as_ref(), &expected)
        }
    }
}

fn compare(op: &str, value: Option<&Value>, expected: &Value) -> Result<bool, Failure> {
    use std::cmp::Ordering::*;
    let Some(value) = value else {
        return Ok(expected == &Value::Bool(false));
    };
    let ordering = |ord: std::cmp::Ordering, suffix: &str| match suffix {
        "Equals" => ord == Equal,
        "LessThan" => ord == Less,
        "GreaterThan" => ord == Greater,
        "LessThanEquals" => ord != Greater,
        "GreaterThanEquals" => ord != Less,
        _ => false,
    };
    Ok(match op {
        "IsPresent" => expected == &Value::Bool(true),
        "IsNull" => value.is_null() == (expected == &Value::Bool(true)),
        "IsNumeric" => value.is_number() == (expected == &Value::Bool(true)),
        "IsString" => value.is_string() == (expected == &Value::Bool(true)),
        "IsBoolean" => value.is_boolean() == (expected == &Value::Bool(true)),
        "IsTimestamp" => timestamp(value).is_some() == (expected == &Value::Bool(true)),
        "BooleanEquals" => value.is_boolean() && value == expected,
        "StringMatches" => match (value.as_str(), expected.as_str()) {
            (Some(v), Some(p)) => wildcard(p, v),
            _ => false,
        },
        _ => {
            if let Some(suffix) = op.strip_prefix("String") {
                match (value.as_str(), expected.as_str()) {
                    (Some(a), Some(b)) => ordering(a.cmp(b), suffix),
                    _ => false,
                }
            } else if let Some(suffix) = op.strip_prefix("Numeric") {
                match (value.as_f64(), expected.as_f64()) {
                    (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(|o| ordering(o, suffix)),
                    _ => false,
                }
            } else if let Some(suffix) = op.strip_prefix("Timestamp") {
                match (timestamp(value), timestamp(expected)) {
                    (Some(a), Some(b)) => ordering(a.cmp(&b), suffix),
                    _ => false,
                }
            } else {
                return Err(Failure::runtime(format!("unknown Choice operator {op}")));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn m(rule: Value) -> bool {
        let input =
            json!({"s": "abc", "n": 3, "b": true, "t": "2026-11-24T08:00:00Z", "z": null, "other": 3});
        matches(&rule, &input, &json!({})).unwrap()
    }

    #[test]
    fn operators_tests_and_combinators() {
        assert!(m(json!({"Variable": "$.s", "StringEquals": "abc"})));
        assert!(m(json!({"Variable": "$.s", "StringLessThan": "abd"})));
        assert!(m(json!({"Variable": "$.s", "StringMatches": "a*c"})));
        assert!(!m(json!({"Variable": "$.s", "StringMatches": "a\\*c"})));
        assert!(m(json!({"Variable": "$.n", "NumericGreaterThanEquals": 3})));
        assert!(m(json!({"Variable": "$.n", "NumericEqualsPath": "$.other"})));
        assert!(
            !m(json!({"Variable": "$.s", "NumericEquals": 3})),
            "type mismatch is false"
        );
        assert!(m(json!({"Variable": "$.b", "BooleanEquals": true})));
        assert!(!m(
            json!({"Variable": "$.t", "TimestampLessThan": "2026-11-24T09:00:00+01:00"})
        ));
        assert!(m(
            json!({"Variable": "$.t", "TimestampEquals": "2026-11-24T09:00:00+01:00"})
        ));
        assert!(m(json!({"Variable": "$.z", "IsNull": true})));
        assert!(m(json!({"Variable": "$.missing", "IsPresent": false})));
        assert!(m(json!({"Variable": "$.n", "IsNumeric": true})));
        assert!(m(json!({"Variable": "$.t", "IsTimestamp": true})));
        assert!(m(
            json!({"And": [{"Variable": "$.n", "NumericLessThan": 4}, {"Not": {"Variable": "$.b", "BooleanEquals": false}}]})
        ));
        assert!(m(
            json!({"Or": [{"Variable": "$.n", "NumericLessThan": 0}, {"Variable": "$.s", "IsString": true}]})
        ));
        let err = matches(
            &json!({"Variable": "$.missing", "StringEquals": "x"}),
            &json!({}),
            &json!({}),
        )
        .unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }
}
