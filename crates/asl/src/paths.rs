//! Paths: reading with JSONPath (`serde_json_path`, RFC 9535) from the state's input
//! or, for `$$`, from the context object; writing with reference paths (ResultPath).

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use crate::Failure;

/// Whether a path can select more than one node (wildcards, filters, slices,
/// descendants): such paths yield an array, the others exactly one value.
fn selects_many(path: &str) -> bool {
    path.contains("[*]") || path.contains(".*") || path.contains("..") || path.contains("[?") || {
        // A slice `[a:b]` outside quotes.
        path.split('[').skip(1).any(|seg| {
            let inner = seg.split(']').next().unwrap_or("");
            !inner.starts_with('\'') && !inner.starts_with('"') && inner.contains(':')
        })
    }
}

/// Where the interpreter keeps a JSONPath state's variables inside the context object it
/// passes around: a key no `$$.` shorthand can name, and hidden from `$$` reads.
pub const VARIABLES_KEY: &str = "\u{0}variables";

/// A variable reference: `$name` or `$name.path…` → the name and the path within it.
fn variable_reference(path: &str) -> Option<(&str, String)> {
    let rest = path.strip_prefix('$')?;
    if !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    let end = rest.find(['.', '[']).unwrap_or(rest.len());
    Some((&rest[..end], format!("${}", &rest[end..])))
}

/// Reads `path` (`$…` from `input`, `$$…` from `context`, `$name…` from the variables
/// the context carries). A definite path that matches nothing is a `States.Runtime`
/// failure, as in the service.
pub fn read(path: &str, input: &Value, context: &Value) -> Result<Value, Failure> {
    if let Some((name, within)) = variable_reference(path) {
        let value = context
            .get(VARIABLES_KEY)
            .and_then(|v| v.get(name))
            .ok_or_else(|| Failure::runtime(format!("the variable ${name} is not defined at this point")))?;
        return read(&within, value, &Value::Null);
    }
    let visible;
    let (doc, query) = match path.strip_prefix("$$") {
        Some(rest) => {
            visible = without_variables(context);
            (&visible, format!("${rest}"))
        }
        None => (input, path.to_string()),
    };
    if !query.starts_with('$') {
        return Err(Failure::runtime(format!(
            "{path:?} is not a path: it must start with $ or $$"
        )));
    }
    let compiled =
        compile(&query).map_err(|e| Failure::runtime(format!("invalid JSONPath {path:?}: {e}")))?;
    let nodes = compiled.query(doc).all();
    if selects_many(&query) {
        return Ok(Value::Array(nodes.into_iter().cloned().collect()));
    }
    match nodes.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Failure::runtime(format!(
            "the JSONPath {path:?} could not be found in the input {}",
            truncate(doc)
        ))),
        many => Ok(Value::Array(many.iter().map(|v| (*v).clone()).collect())),
    }
}

/// The context object as a `$$` read sees it: without the variables it carries.
fn without_variables(context: &Value) -> Value {
    let mut visible = context.clone();
    if let Some(map) = visible.as_object_mut() {
        map.remove(VARIABLES_KEY);
    }
    visible
}

fn truncate(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!(
            "{}…",
            &s[..s
                .char_indices()
                .take_while(|(i, _)| *i < 200)
                .last()
                .map_or(0, |(i, _)| i)]
        )
    } else {
        s
    }
}

/// One step of a reference path.
#[derive(Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
}

/// Parses a reference path: `$`, `$.a.b`, `$['a b'].c[0]`. No wildcards or filters.
fn reference_steps(path: &str) -> Result<Vec<Step>, Failure> {
    let bad = |why: &str| Failure::runtime(format!("{path:?} is not a reference path: {why}"));
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| bad("it must start with $"))?;
    let mut steps = Vec::new();
    let chars: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                if name.is_empty() || name == "*" {
                    return Err(bad("an empty or wildcard field"));
                }
                steps.push(Step::Field(name));
                i = end;
            }
            '[' => {
                let close = chars[i..]
                    .iter()
                    .position(|&c| c == ']')
                    .ok_or_else(|| bad("unclosed ["))?
                    + i;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                if let Some(quoted) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    steps.push(Step::Field(quoted.to_string()));
                } else {
                    let index = inner.parse().map_err(|_| bad("only field names and indexes"))?;
                    steps.push(Step::Index(index));
                }
                i = close + 1;
            }
            _ => return Err(bad("expected . or [")),
        }
    }
    Ok(steps)
}

/// Whether `path` is a valid reference path (for validation).
pub fn is_reference_path(path: &str) -> bool {
    reference_steps(path).is_ok()
}

/// Whether `path` is a valid JSONPath for reading, or a variable reference (for
/// validation).
pub fn is_path(path: &str) -> bool {
    if let Some((_, within)) = variable_reference(path) {
        return compile(&within).is_ok();
    }
    let query = path
        .strip_prefix('$')
        .map(|rest| rest.strip_prefix('$').unwrap_or(rest));
    query.is_some_and(|rest| compile(&format!("${rest}")).is_ok())
}

/// `JsonPath::parse`, except for what makes it panic: serde_json_path 0.7 reaches an
/// `unreachable!` on a string literal whose `\u` escape is cut short (`$["\u`), found by
/// the fuzzer. Such a path is refused before it is parsed.
fn compile(query: &str) -> Result<JsonPath, String> {
    let bytes = query.as_bytes();
    let cut_escape = bytes.windows(2).enumerate().any(|(i, w)| {
        w == b"\\u"
            && !bytes
                .get(i + 2..i + 6)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if cut_escape {
        return Err("a \\u escape needs four hex digits".into());
    }
    JsonPath::parse(&bracket_loose_names(query)).map_err(|e| e.to_string())
}

/// Step Functions reads dot-notation names that RFC 9535's shorthand refuses —
/// `$.detail-type`, `$.0day`, `$$.Execution.Input.input-value` (EventBridge events are
/// full of them) — as member names. Outside brackets, such a name is rewritten in
/// bracket notation (`$['detail-type']`) before parsing; inside a bracket (filters) the
/// path is left as written.
fn bracket_loose_names(query: &str) -> String {
    let chars: Vec<char> = query.chars().collect();
    let mut out = String::with_capacity(query.len() + 8);
    let (mut i, mut depth, mut quote) = (0, 0usize, None::<char>);
    while i < chars.len() {
        let c = chars[i];
        match (quote, c) {
            (Some(q), _) => {
                out.push(c);
                if c == '\\' {
                    if let Some(next) = chars.get(i + 1) {
                        out.push(*next);
                        i += 1;
                    }
                } else if c == q {
                    quote = None;
                }
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '[') => {
                depth += 1;
                out.push(c);
            }
            (None, ']') => {
                depth = depth.saturating_sub(1);
                out.push(c);
            }
            (None, '.') if depth == 0 => {
                let descendant = chars.get(i + 1) == Some(&'.');
                let start = if descendant { i + 2 } else { i + 1 };
                let end = (start..chars.len())
                    .find(|&j| chars[j] == '.' || chars[j] == '[')
                    .unwrap_or(chars.len());
                let name: String = chars.get(start..end).unwrap_or_default().iter().collect();
                if !name.is_empty() && name != "*" && !is_shorthand(&name) {
                    // `$.name` becomes `$['name']`, `$..name` becomes `$..['name']`.
                    let escaped = name.replace('\\', "\\\\").replace('\'', "\\'");
                    out.push_str(if descendant { "..['" } else { "['" });
                    out.push_str(&escaped);
                    out.push_str("']");
                    i = end;
                    continue;
                }
                out.push('.');
                if descendant {
                    out.push('.');
                    i += 1;
                }
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// RFC 9535's member-name-shorthand: a letter, `_` or non-ASCII first, then also digits.
fn is_shorthand(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii());
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii())
}

/// Writes `value` into `target` at a reference path, creating objects on the way
/// (`ResultPath`). `$` replaces the whole document.
pub fn write(target: Value, path: &str, value: Value) -> Result<Value, Failure> {
    let steps = reference_steps(path)?;
    if steps.is_empty() {
        return Ok(value);
    }
    let mut root = target;
    let mut node = &mut root;
    for (i, step) in steps.iter().enumerate() {
        let last = i + 1 == steps.len();
        match step {
            Step::Field(name) => {
                let Some(map) = node.as_object_mut() else {
                    return Err(Failure::runtime(format!(
                        "cannot set {path:?}: the value before {name:?} is not an object"
                    )));
                };
                let map: &mut Map<String, Value> = map;
                if last {
                    map.insert(name.clone(), value);
                    return Ok(root);
                }
                node = map
                    .entry(name.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
            }
            Step::Index(index) => {
                let items = node
                    .as_array_mut()
                    .filter(|a| *index < a.len())
                    .ok_or_else(|| Failure::runtime(format!("cannot set {path:?}: no element {index}")))?;
                if last {
                    items[*index] = value;
                    return Ok(root);
                }
                node = &mut items[*index];
            }
        }
    }
    unreachable!("the last step returns")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_definite_and_indefinite_paths() {
        let doc = json!({"a": {"b": [1, 2, 3]}, "v": [{"k": "x", "n": 1}, {"k": "y", "n": 2}]});
        let ctx = json!({"Execution": {"Name": "e1"}});
        assert_eq!(read("$.a.b[1]", &doc, &ctx).unwrap(), json!(2));
        assert_eq!(read("$$.Execution.Name", &doc, &ctx).unwrap(), json!("e1"));
        assert_eq!(read("$.v[*].k", &doc, &ctx).unwrap(), json!(["x", "y"]));
        assert_eq!(read("$.v[?(@.n > 1)].k", &doc, &ctx).unwrap(), json!(["y"]));
        assert_eq!(read("$.v[?@.n == 3].k", &doc, &ctx).unwrap(), json!([]));
        let err = read("$.missing", &doc, &ctx).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("$.missing"), "{}", err.cause);
    }

    /// Step Functions accepts names outside RFC 9535's shorthand in dot notation.
    #[test]
    fn dot_names_outside_the_rfc_shorthand_are_member_names() {
        let doc = json!({"detail-type": "X", "0day": 1, "a": {"b-c": [{"d e": 2}]}, "it's": 3});
        let ctx = json!({"Execution": {"Input": {"input-value": 9}}});
        assert_eq!(read("$.detail-type", &doc, &ctx).unwrap(), json!("X"));
        assert_eq!(read("$.0day", &doc, &ctx).unwrap(), json!(1));
        assert_eq!(read("$.a.b-c[0].d e", &doc, &ctx).unwrap(), json!(2));
        assert_eq!(read("$..b-c", &doc, &ctx).unwrap(), json!([[{"d e": 2}]]));
        assert_eq!(read("$.it's", &doc, &ctx).unwrap(), json!(3));
        assert_eq!(
            read("$$.Execution.Input.input-value", &doc, &ctx).unwrap(),
            json!(9)
        );
        assert_eq!(bracket_loose_names("$.a['x-y'].b"), "$.a['x-y'].b");
        assert_eq!(bracket_loose_names("$.v[?(@.n-1 > 0)]"), "$.v[?(@.n-1 > 0)]");
        assert!(is_path("$.detail-type") && is_path("$$.Execution.Input.input-value"));
    }

    #[test]
    fn variables_are_read_from_the_context_and_hidden_from_dollar_dollar() {
        let ctx = json!({"State": {"Name": "S"}, (VARIABLES_KEY): {"limit": {"max": [5, 6]}, "n": 3}});
        let doc = json!({});
        assert_eq!(read("$n", &doc, &ctx).unwrap(), json!(3));
        assert_eq!(read("$limit.max[1]", &doc, &ctx).unwrap(), json!(6));
        assert!(read("$missing", &doc, &ctx)
            .unwrap_err()
            .cause
            .contains("$missing is not defined"));
        assert_eq!(read("$$", &doc, &ctx).unwrap(), json!({"State": {"Name": "S"}}));
        assert!(is_path("$limit.max[0]") && is_path("$n"));
    }

    #[test]
    fn writes_reference_paths() {
        let doc = json!({"a": 1});
        assert_eq!(write(doc.clone(), "$", json!(7)).unwrap(), json!(7));
        assert_eq!(
            write(doc.clone(), "$.r.s", json!(7)).unwrap(),
            json!({"a": 1, "r": {"s": 7}})
        );
        assert_eq!(
            write(doc.clone(), "$['x y']", json!(true)).unwrap(),
            json!({"a": 1, "x y": true})
        );
        assert_eq!(
            write(json!({"l": [0, 0]}), "$.l[1]", json!(5)).unwrap(),
            json!({"l": [0, 5]})
        );
        assert!(write(doc.clone(), "$.a.b", json!(1)).is_err());
        assert!(write(doc, "$.v[*]", json!(1)).is_err());
        assert!(is_reference_path("$.a['b'][0]") && !is_reference_path("$..a"));
    }
}
