//! A JSONata state's data flow: `Arguments` → the work → `Output`, with `Assign` beside it.
//! Every `{% … %}` sees `$states` (`input`, `result`, `errorOutput`, `context`) and the
//! variables in scope. `Output` and `Assign` are both evaluated with the variables as they
//! were before the state, and the assignments land together afterwards: a state's new
//! values are visible from the next state on (AWS's documented order).

use super::jsonpath_state::{parse_time, MAX_WAIT_SECONDS};
use super::*;
use crate::jsonata::{self, Bindings, QUERY_EVALUATION_ERROR};

/// What `$states` holds for one evaluation.
struct States<'a> {
    input: &'a Value,
    context: &'a Value,
    result: Option<&'a Value>,
    error_output: Option<&'a Value>,
}

impl States<'_> {
    fn bindings(&self, frame: &Frame) -> Bindings {
        let mut states = Map::new();
        states.insert("input".into(), self.input.clone());
        let mut context = self.context.clone();
        if let Some(map) = context.as_object_mut() {
            map.remove(crate::paths::VARIABLES_KEY);
        }
        states.insert("context".into(), context);
        if let Some(r) = self.result {
            states.insert("result".into(), r.clone());
        }
        if let Some(e) = self.error_output {
            states.insert("errorOutput".into(), e.clone());
        }
        Bindings {
            states,
            variables: frame.variables(),
        }
    }
}

impl Run<'_> {
    pub(super) async fn jsonata_state(
        &self,
        name: &str,
        s: &State,
        raw: Value,
        frame: &Frame,
    ) -> Result<Step, Failure> {
        let (entered, ctx) = self.begin(name, s, &raw, frame);
        let before = States {
            input: &raw,
            context: &ctx,
            result: None,
            error_output: None,
        }
        .bindings(frame);
        match s.kind {
            StateKind::Pass | StateKind::Succeed => {
                let output = self.output_and_assign(name, s, (&s.output, &s.assign), &before, &raw, frame)?;
                Ok(if s.kind == StateKind::Succeed {
                    Step::End(output)
                } else {
                    advance(s, output)
                })
            }
            StateKind::Fail => Err(Failure::new(
                text_field(&s.error, "Error", &before)?,
                text_field(&s.cause, "Cause", &before)?,
            )),
            StateKind::Choice => {
                let (next, output, assign) = choose(name, s, &before)?;
                let output = self.output_and_assign(name, s, (&output, &assign), &before, &raw, frame)?;
                Ok(Step::Next(next, output))
            }
            StateKind::Wait => {
                let until = wait_end(s, entered, &before)?;
                self.sleep(until - self.clock.now()).await;
                let output = self.output_and_assign(name, s, (&s.output, &s.assign), &before, &raw, frame)?;
                Ok(advance(s, output))
            }
            StateKind::Task | StateKind::Parallel | StateKind::Map => {
                let arguments = match &s.arguments {
                    Some(a) => jsonata::template(a, "Arguments", &before)?,
                    None => raw.clone(),
                };
                if s.arguments.is_some() {
                    self.inspect(frame, "afterArguments", &arguments);
                }
                match self.with_retries(name, s, &arguments, entered, frame).await {
                    Ok(result) => {
                        self.inspect(frame, "result", &result);
                        let after = States {
                            input: &raw,
                            context: &ctx,
                            result: Some(&result),
                            error_output: None,
                        }
                        .bindings(frame);
                        let output =
                            self.output_and_assign(name, s, (&s.output, &s.assign), &after, &result, frame)?;
                        Ok(advance(s, output))
                    }
                    Err(f) => self.jsonata_catch(name, s, (&raw, &ctx), f, frame),
                }
            }
        }
    }

    /// The state's output (`Output`, else `default`) and its `Assign`, both evaluated
    /// before either lands; the output must fit the payload quota.
    fn output_and_assign(
        &self,
        name: &str,
        s: &State,
        (output, assign): (&Option<Value>, &Option<Value>),
        bindings: &Bindings,
        default: &Value,
        frame: &Frame,
    ) -> Result<Value, Failure> {
        let out = match output {
            Some(o) => jsonata::template(o, "Output", bindings)?,
            None => default.clone(),
        };
        let assigned = assignments(assign, "Assign", bindings)?;
        within_payload_limit("the state's output", &out)?;
        frame.assign(assigned);
        self.exit(frame, name, s.kind, &out);
        Ok(out)
    }

    /// A JSONata Catch: the first catcher that matches, its `Output` (default: the error
    /// output `{Error, Cause}`) and `Assign`, with `$states.errorOutput` bound.
    fn jsonata_catch(
        &self,
        name: &str,
        s: &State,
        (raw, ctx): (&Value, &Value),
        failure: Failure,
        frame: &Frame,
    ) -> Result<Step, Failure> {
        let Some(catcher) = self.catcher((name, s), &failure, frame) else {
            return Err(failure);
        };
        let error_output = json!({"Error": failure.error, "Cause": failure.cause});
        let bindings = States {
            input: raw,
            context: ctx,
            result: None,
            error_output: Some(&error_output),
        }
        .bindings(frame);
        let output = self.output_and_assign(
            name,
            s,
            (&catcher.output, &catcher.assign),
            &bindings,
            &error_output,
            frame,
        )?;
        Ok(Step::Next(catcher.next.clone(), output))
    }
}

/// `Assign`'s values, evaluated (an object of variable names).
fn assignments(
    assign: &Option<Value>,
    field: &str,
    bindings: &Bindings,
) -> Result<Map<String, Value>, Failure> {
    match assign {
        None => Ok(Map::new()),
        Some(a) => match jsonata::template(a, field, bindings)? {
            Value::Object(values) => Ok(values),
            other => Err(Failure::new(
                QUERY_EVALUATION_ERROR,
                format!("{field} must be an object of variable names, got {other}"),
            )),
        },
    }
}

/// The first Choice rule whose `Condition` is true (its `Next`, `Output` and `Assign`,
/// else the state's), else `Default`, else `States.NoChoiceMatched`.
fn choose(
    name: &str,
    s: &State,
    bindings: &Bindings,
) -> Result<(String, Option<Value>, Option<Value>), Failure> {
    for (i, rule) in s.choices.iter().flatten().enumerate() {
        let field = format!("Choices[{i}].Condition");
        let holds = match rule.get("Condition") {
            Some(Value::Bool(b)) => *b,
            Some(c) => match jsonata::template(c, &field, bindings)? {
                Value::Bool(b) => b,
                other => {
                    return Err(Failure::new(
                        QUERY_EVALUATION_ERROR,
                        format!("{field} of {name:?} must give a boolean, got {other}"),
                    ))
                }
            },
            None => false,
        };
        if holds {
            let next = rule
                .get("Next")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let output = rule.get("Output").cloned().or_else(|| s.output.clone());
            let assign = rule.get("Assign").cloned().or_else(|| s.assign.clone());
            return Ok((next, output, assign));
        }
    }
    match &s.default {
        Some(d) => Ok((d.clone(), s.output.clone(), s.assign.clone())),
        None => Err(Failure::new(
            "States.NoChoiceMatched",
            format!("no Choice rule of {name:?} matched and it has no Default"),
        )),
    }
}

/// A Fail state's `Error` or `Cause`: a literal or an expression that gives a string.
fn text_field(value: &Option<String>, field: &str, bindings: &Bindings) -> Result<String, Failure> {
    match value {
        None => Ok(String::new()),
        Some(text) => match jsonata::template(&Value::String(text.clone()), field, bindings)? {
            Value::String(s) => Ok(s),
            other => Err(Failure::new(
                QUERY_EVALUATION_ERROR,
                format!("{field} must give a string, got {other}"),
            )),
        },
    }
}

/// When a JSONata Wait ends: `Seconds` (a number or an expression giving a non-negative
/// integer) or `Timestamp` (a timestamp or an expression giving one).
fn wait_end(s: &State, entered: DateTime<Utc>, bindings: &Bindings) -> Result<DateTime<Utc>, Failure> {
    let until = if let Some(seconds) = &s.seconds {
        let value = jsonata::template(seconds, "Seconds", bindings)?;
        let secs = value.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
            Failure::new(
                QUERY_EVALUATION_ERROR,
                format!("Seconds must give a non-negative integer, got {value}"),
            )
        })?;
        entered + Duration::seconds(secs.min(MAX_WAIT_SECONDS + 1))
    } else if let Some(t) = &s.timestamp {
        match jsonata::template(&Value::String(t.clone()), "Timestamp", bindings)? {
            Value::String(text) => parse_time(&text)?,
            other => {
                return Err(Failure::new(
                    QUERY_EVALUATION_ERROR,
                    format!("Timestamp must give a string, got {other}"),
                ))
            }
        }
    } else {
        entered
    };
    if (until - entered).num_seconds() > MAX_WAIT_SECONDS {
        return Err(Failure::runtime("Wait state delay is too long."));
    }
    Ok(until)
}

/// A JSONata Map's items: `Items` (an array, elements may be expressions, or an
/// expression that gives an array), else the state's input.
pub(super) fn map_items(s: &State, input: &Value, ctx: &Value, frame: &Frame) -> Result<Vec<Value>, Failure> {
    let bindings = States {
        input,
        context: ctx,
        result: None,
        error_output: None,
    }
    .bindings(frame);
    let items = match &s.items {
        Some(items) => jsonata::template(items, "Items", &bindings)?,
        None => input.clone(),
    };
    match items {
        Value::Array(items) => Ok(items),
        other => {
            let kind = match &other {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                _ => "object",
            };
            Err(Failure::new(
                QUERY_EVALUATION_ERROR,
                format!(
                    "The field 'Items' returned an unexpected result type. Expected 'array', but was '{kind}' for value: {other}"
                ),
            ))
        }
    }
}

/// A JSONata `ItemSelector` for one item: `$states.input` is the Map's input and
/// `$states.context.Map.Item` the item.
pub(super) fn item_selection(
    selector: &Value,
    input: &Value,
    item_ctx: &Value,
    frame: &Frame,
) -> Result<Value, Failure> {
    let bindings = States {
        input,
        context: item_ctx,
        result: None,
        error_output: None,
    }
    .bindings(frame);
    jsonata::template(selector, "ItemSelector", &bindings)
}
