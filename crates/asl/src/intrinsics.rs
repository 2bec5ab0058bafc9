//! The `States.*` intrinsic functions: a small parser for the call syntax and one
//! evaluator per function. Failures are `States.IntrinsicFailure`; a path argument
//! that matches nothing is `States.Runtime`, as in the service.

use base64::Engine;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use crate::{paths, Failure};

/// A parsed argument.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Literal(Value),
    Path(String),
    Call(String, Vec<Arg>),
}

fn failure(message: impl Into<String>) -> Failure {
    Failure::new("States.IntrinsicFailure", message)
}

struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
    at: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.at < self.chars.len() && self.chars[self.at].is_whitespace() {
            self.at += 1;
        }
    }

    fn error(&self, what: &str) -> Failure {
        failure(format!("{what} at character {} of {:?}", self.at + 1, self.text))
    }

    fn call(&mut self) -> Result<Arg, Failure> {
        let start = self.at;
        while self.at < self.chars.len()
            && (self.chars[self.at].is_alphanumeric() || self.chars[self.at] == '.')
        {
            self.at += 1;
        }
        let name: String = self.chars[start..self.at].iter().collect();
        if !TABLE.iter().any(|(known, _)| *known == name.as_str()) {
            return Err(failure(format!(
                "unknown intrinsic function {name:?} in {:?}",
                self.text
            )));
        }
        self.skip_space();
        if self.chars.get(self.at) != Some(&'(') {
            return Err(self.error("expected ("));
        }
        self.at += 1;
        let mut args = Vec::new();
        loop {
            self.skip_space();
            if self.chars.get(self.at) == Some(&')') {
                self.at += 1;
                break;
            }
            args.push(self.arg()?);
            self.skip_space();
            match self.chars.get(self.at) {
                Some(',') => self.at += 1,
                Some(')') => {
                    self.at += 1;
                    break;
                }
                _ => return Err(self.error("expected , or )")),
            }
        }
        Ok(Arg::Call(name, args))
    }

    fn arg(&mut self) -> Result<Arg, Failure> {
        match self.chars.get(self.at) {
            Some('\'') => self.string(),
            Some('$') => Ok(Arg::Path(self.path())),
            Some(c) if c.is_ascii_digit() || *c == '-' => self.number(),
            Some('S') => self.call(),
            _ => {
                for (word, value) in [
                    ("null", Value::Null),
                    ("true", json!(true)),
                    ("false", json!(false)),
                ] {
                    if self.text[self.byte_at()..].starts_with(word) {
                        self.at += word.len();
                        return Ok(Arg::Literal(value));
                    }
                }
                Err(self.error("expected an argument"))
            }
        }
    }

    fn byte_at(&self) -> usize {
        self.chars[..self.at].iter().map(|c| c.len_utf8()).sum()
    }

    fn string(&mut self) -> Result<Arg, Failure> {
        self.at += 1;
        let mut out = String::new();
        while let Some(&c) = self.chars.get(self.at) {
            self.at += 1;
            match c {
                '\\' => {
                    let escaped = *self
                        .chars
                        .get(self.at)
                        .ok_or_else(|| self.error("unfinished escape"))?;
                    out.push(escaped);
                    self.at += 1;
                }
                '\'' => return Ok(Arg::Literal(Value::String(out))),
                c => out.push(c),
            }
        }
        Err(self.error("unclosed string"))
    }

    fn number(&mut self) -> Result<Arg, Failure> {
        let start = self.at;
        while self.at < self.chars.len()
            && (self.chars[self.at].is_ascii_digit() || "-+.eE".contains(self.chars[self.at]))
        {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        let value: Value = serde_json::from_str(&text).map_err(|_| self.error("invalid number"))?;
        Ok(Arg::Literal(value))
    }

    /// A path runs to the next `,` or `)` outside brackets and quotes.
    fn path(&mut self) -> String {
        let start = self.at;
        let (mut depth, mut quote) = (0usize, None);
        while let Some(&c) = self.chars.get(self.at) {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[' | '(') => depth += 1,
                (None, ']') => depth = depth.saturating_sub(1),
                (None, ')') if depth > 0 => depth -= 1,
                (None, ',' | ')') if depth == 0 => break,
                _ => {}
            }
            self.at += 1;
        }
        self.chars[start..self.at]
            .iter()
            .collect::<String>()
            .trim()
            .to_string()
    }
}

fn parse(text: &str) -> Result<Arg, Failure> {
    let mut p = Parser {
        text,
        chars: text.chars().collect(),
        at: 0,
    };
    p.skip_space();
    let call = p.call()?;
    p.skip_space();
    if p.at != p.chars.len() {
        return Err(p.error("unexpected text after the call"));
    }
    Ok(call)
}

/// Whether `text` parses as an intrinsic call (for validation; paths are not resolved).
pub fn check(text: &str) -> Result<(), Failure> {
    parse(text).map(|_| ())
}

/// Evaluates an intrinsic call against the state's input and the context object.
pub fn evaluate(text: &str, input: &Value, context: &Value) -> Result<Value, Failure> {
    eval(&parse(text)?, input, context)
}

fn eval(arg: &Arg, input: &Value, context: &Value) -> Result<Value, Failure> {
    match arg {
        Arg::Literal(v) => Ok(v.clone()),
        Arg::Path(p) => paths::read(p, input, context),
        Arg::Call(name, args) => {
            let values = args
                .iter()
                .map(|a| eval(a, input, context))
                .collect::<Result<Vec<_>, _>>()?;
            call(name, &values)
        }
    }
}

fn arity(name: &str, args: &[Value], range: std::ops::RangeInclusive<usize>) -> Result<(), Failure> {
    if range.contains(&args.len()) {
        Ok(())
    } else {
        Err(failure(format!(
            "{name} takes {range:?} arguments, got {}",
            args.len()
        )))
    }
}

fn string<'a>(name: &str, v: &'a Value) -> Result<&'a str, Failure> {
    v.as_str()
        .ok_or_else(|| failure(format!("{name} expects a string, got {v}")))
}

fn array<'a>(name: &str, v: &'a Value) -> Result<&'a Vec<Value>, Failure> {
    v.as_array()
        .ok_or_else(|| failure(format!("{name} expects an array, got {v}")))
}

fn integer(name: &str, v: &Value) -> Result<i64, Failure> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .ok_or_else(|| failure(format!("{name} expects an integer, got {v}")))
}

/// Every intrinsic function by name, one small function each.
const TABLE: [(&str, Intrinsic); 18] = [
    ("States.Format", states_format),
    ("States.StringToJson", states_string_to_json),
    ("States.JsonToString", states_json_to_string),
    ("States.Array", states_array),
    ("States.ArrayPartition", states_array_partition),
    ("States.ArrayContains", states_array_contains),
    ("States.ArrayRange", states_array_range),
    ("States.ArrayGetItem", states_array_get_item),
    ("States.ArrayLength", states_array_length),
    ("States.ArrayUnique", states_array_unique),
    ("States.Base64Encode", states_base64_encode),
    ("States.Base64Decode", states_base64_decode),
    ("States.Hash", states_hash),
    ("States.JsonMerge", states_json_merge),
    ("States.MathRandom", states_math_random),
    ("States.MathAdd", states_math_add),
    ("States.StringSplit", states_string_split),
    ("States.UUID", states_uuid),
];

type Intrinsic = fn(&str, &[Value]) -> Result<Value, Failure>;

fn call(name: &str, args: &[Value]) -> Result<Value, Failure> {
    let (_, function) = TABLE
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| failure(format!("unknown intrinsic function {name}")))?;
    function(name, args)
}

fn states_format(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 1..=usize::MAX)?;
    let template = string(name, &args[0])?;
    let mut out = String::new();
    let mut rest = args[1..].iter();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '{' && chars.peek() == Some(&'}') {
            chars.next();
            let v = rest
                .next()
                .ok_or_else(|| failure(format!("{name}: more {{}} than arguments")))?;
            out.push_str(&format_argument(v));
        } else {
            out.push(c);
        }
    }
    if rest.next().is_some() {
        return Err(failure(format!("{name}: more arguments than {{}}")));
    }
    Ok(Value::String(out))
}

/// A `States.Format` argument as AWS writes it (recorded executions): strings as they
/// are, objects and arrays as Java's `Map`/`List` print (`{Arg1=1, Arg2=[]}`), the rest
/// as JSON.
fn format_argument(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(map) => {
            let entries: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k}={}", format_argument(v)))
                .collect();
            format!("{{{}}}", entries.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(format_argument).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// An empty or blank string is `null` on AWS (recorded executions), not an error.
fn states_string_to_json(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 1..=1)?;
    let text = string(name, &args[0])?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text).map_err(|e| failure(format!("{name}: {e}")))
}

fn states_json_to_string(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 1..=1)?;
    Ok(Value::String(args[0].to_string()))
}

fn states_array(_: &str, args: &[Value]) -> Result<Value, Failure> {
    Ok(Value::Array(args.to_vec()))
}

fn states_array_partition(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 2..=2)?;
    let size = integer(name, &args[1])?;
    if size < 1 {
        return Err(failure(format!("{name}: the chunk size must be ≥ 1")));
    }
    let items = array(name, &args[0])?;
    Ok(Value::Array(
        items
            .chunks(size as usize)
            .map(|c| Value::Array(c.to_vec()))
            .collect(),
    ))
}

fn states_array_contains(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 2..=2)?;
    Ok(Value::Bool(array(name, &args[0])?.contains(&args[1])))
}

fn states_array_range(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 3..=3)?;
    let (start, end, step) = (
        integer(name, &args[0])?,
        integer(name, &args[1])?,
        integer(name, &args[2])?,
    );
    if step == 0 {
        return Err(failure(format!("{name}: the step must not be 0")));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (step > 0 && i <= end) || (step < 0 && i >= end) {
        out.push(json!(i));
        if out.len() > 1000 {
            return Err(failure(format!("{name}: more than 1000 items")));
        }
        i += step;
    }
    Ok(Value::Array(out))
}

fn states_array_get_item(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 2..=2)?;
    let index = integer(name, &args[1])?;
    array(name, &args[0])?
        .get(usize::try_from(index).map_err(|_| failure(format!("{name}: negative index")))?)
        .cloned()
        .ok_or_else(|| failure(format!("{name}: index {index} is out of bounds")))
}

fn states_array_length(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 1..=1)?;
    Ok(json!(array(name, &args[0])?.len()))
}

fn states_array_unique(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 1..=1)?;
    let mut out: Vec<Value> = Vec::new();
    for v in array(name, &args[0])? {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    Ok(Value::Array(out))
}

fn states_base64_encode(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 1..=1)?;
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(string(name, &args[0])?),
    ))
}

fn states_base64_decode(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 1..=1)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(string(name, &args[0])?)
        .map_err(|e| failure(format!("{name}: {e}")))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| failure(format!("{name}: the decoded bytes are not UTF-8")))
}

fn states_hash(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 2..=2)?;
    let data = match &args[0] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(Value::String(hash(string(name, &args[1])?, data.as_bytes())?))
}

fn states_json_merge(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 3..=3)?;
    if args[2] != Value::Bool(false) {
        return Err(failure(format!(
            "{name}: only the shallow merge (false) is supported"
        )));
    }
    let (Value::Object(a), Value::Object(b)) = (&args[0], &args[1]) else {
        return Err(failure(format!("{name} merges two objects")));
    };
    let mut out: Map<String, Value> = a.clone();
    out.extend(b.clone());
    Ok(Value::Object(out))
}

fn states_math_random(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 2..=3)?;
    let (start, end) = (integer(name, &args[0])?, integer(name, &args[1])?);
    if start >= end {
        return Err(failure(format!("{name}: start must be below end")));
    }
    let value = match args.get(2) {
        Some(seed) => rand::rngs::StdRng::seed_from_u64(integer(name, seed)? as u64).random_range(start..end),
        None => rand::rng().random_range(start..end),
    };
    Ok(json!(value))
}

/// AWS rounds each argument half up (Java's `Math.round`: 1.5 → 2, -1.5 → -1) and adds
/// the integers (recorded executions: 1.49 + 1.5 = 3, -1.5 + -1.51 = -3).
fn states_math_add(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 2..=2)?;
    let rounded = |v: &Value| -> Result<i64, Failure> {
        let x = v
            .as_f64()
            .ok_or_else(|| failure(format!("{name} expects numbers, got {v}")))?;
        let r = (x + 0.5).floor();
        if r.abs() > i64::MAX as f64 {
            return Err(failure(format!("{name}: {v} is out of range")));
        }
        Ok(v.as_i64().unwrap_or(r as i64))
    };
    let sum = rounded(&args[0])?
        .checked_add(rounded(&args[1])?)
        .ok_or_else(|| failure(format!("{name}: overflow")))?;
    Ok(json!(sum))
}

fn states_string_split(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 2..=2)?;
    let delimiters: Vec<char> = string(name, &args[1])?.chars().collect();
    Ok(Value::Array(
        string(name, &args[0])?
            .split(|c| delimiters.contains(&c))
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.to_string()))
            .collect(),
    ))
}

fn states_uuid(name: &str, args: &[Value]) -> Result<Value, Failure> {
    arity(name, args, 0..=0)?;
    Ok(Value::String(uuid::Uuid::new_v4().to_string()))
}

fn hash(algorithm: &str, data: &[u8]) -> Result<String, Failure> {
    use sha2::Digest;
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    Ok(match algorithm {
        "MD5" => hex(&md5::Md5::digest(data)),
        "SHA-1" => hex(&sha1::Sha1::digest(data)),
        "SHA-256" => hex(&sha2::Sha256::digest(data)),
        "SHA-384" => hex(&sha2::Sha384::digest(data)),
        "SHA-512" => hex(&sha2::Sha512::digest(data)),
        other => {
            return Err(failure(format!(
                "States.Hash: unknown algorithm {other:?}; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
            )))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(text: &str) -> Result<Value, Failure> {
        evaluate(
            text,
            &json!({"a": [1, 2, 2, 3], "s": "x,y", "o": {"k": 1}, "n": 4}),
            &json!({"Execution": {"Name": "run-1"}}),
        )
    }

    #[test]
    fn every_function_evaluates() {
        assert_eq!(
            ev("States.Format('{}-{} \\{x\\}', $$.Execution.Name, $.n)").unwrap(),
            json!("run-1-4 {x}")
        );
        assert_eq!(ev("States.StringToJson('{\"a\": 1}')").unwrap(), json!({"a": 1}));
        assert_eq!(ev("States.JsonToString($.o)").unwrap(), json!("{\"k\":1}"));
        assert_eq!(
            ev("States.Array($.n, 'b', null, true)").unwrap(),
            json!([4, "b", null, true])
        );
        assert_eq!(
            ev("States.ArrayPartition($.a, 3)").unwrap(),
            json!([[1, 2, 2], [3]])
        );
        assert_eq!(ev("States.ArrayContains($.a, 3)").unwrap(), json!(true));
        assert_eq!(ev("States.ArrayRange(1, 9, 4)").unwrap(), json!([1, 5, 9]));
        assert_eq!(ev("States.ArrayGetItem($.a, 3)").unwrap(), json!(3));
        assert_eq!(ev("States.ArrayLength($.a)").unwrap(), json!(4));
        assert_eq!(ev("States.ArrayUnique($.a)").unwrap(), json!([1, 2, 3]));
        assert_eq!(
            ev("States.Base64Encode('Data to encode')").unwrap(),
            json!("RGF0YSB0byBlbmNvZGU=")
        );
        assert_eq!(
            ev("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')").unwrap(),
            json!("Data to encode")
        );
        assert_eq!(
            ev("States.Hash('input data', 'SHA-1')").unwrap(),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert_eq!(
            ev("States.JsonMerge($.o, States.StringToJson('{\"z\": 2}'), false)").unwrap(),
            json!({"k": 1, "z": 2})
        );
        let r = ev("States.MathRandom(1, 10, 7)").unwrap();
        assert_eq!(r, ev("States.MathRandom(1, 10, 7)").unwrap(), "seeded");
        assert!((1..10).contains(&r.as_i64().unwrap()));
        assert_eq!(ev("States.MathAdd($.n, -1)").unwrap(), json!(3));
        // As recorded on AWS: arguments rounded half up, then added.
        for (a, b, sum) in [(1.49, 1.5, 3), (-1.5, -1.51, -3), (-0.5, 0.5, 1), (-2.5, 0.0, -2)] {
            assert_eq!(
                ev(&format!("States.MathAdd({a}, {b})")).unwrap(),
                json!(sum),
                "{a} + {b}"
            );
        }
        assert_eq!(ev("States.StringToJson('')").unwrap(), json!(null));
        assert_eq!(ev("States.StringToJson(' ')").unwrap(), json!(null));
        assert_eq!(
            ev("States.Format('o={} a={}', $.o, $.a)").unwrap(),
            json!("o={k=1} a=[1, 2, 2, 3]")
        );
        assert_eq!(ev("States.StringSplit($.s, ',')").unwrap(), json!(["x", "y"]));
        assert_eq!(ev("States.UUID()").unwrap().as_str().unwrap().len(), 36);
    }

    #[test]
    fn failures_are_named() {
        for bad in [
            "States.Nope(1)",
            "States.ArrayGetItem($.a, 9)",
            "States.MathAdd('x', 1)",
            "States.Format('{}')",
            "States.Hash('x', 'CRC')",
            "States.JsonMerge($.o, $.a, false)",
            "States.Array(1",
        ] {
            assert_eq!(ev(bad).unwrap_err().error, "States.IntrinsicFailure", "{bad}");
        }
        assert_eq!(
            ev("States.ArrayLength($.missing)").unwrap_err().error,
            "States.Runtime"
        );
    }
}
