//! A JSONPath state's data flow (InputPath → Parameters → the work → ResultSelector →
//! ResultPath → OutputPath) and the helpers of its types: a Fail state's error, a Choice
//! state's next state, a Wait state's end.

use super::*;

impl Run<'_> {
    pub(super) async fn jsonpath_state(
        &self,
        name: &str,
        s: &State,
        raw: Value,
        frame: &Frame,
    ) -> Result<Step, Failure> {
        let (entered, ctx) = self.begin(name, s, &raw, frame);
        let effective = apply_path(&s.input_path, &raw, &ctx)?;
        self.inspect(frame, "afterInputPath", &effective);
        match s.kind {
            StateKind::Pass => {
                let result = match (&s.result, &s.parameters) {
                    (Some(r), _) => r.clone(),
                    (None, Some(p)) => payload::evaluate(p, &effective, &ctx)?,
                    (None, None) => effective.clone(),
                };
                self.inspect(frame, "afterParameters", &result);
                let assigned = jsonpath_assignments(s, &result, &ctx)?;
                let output = self.finish(s, raw, result, &ctx, frame)?;
                frame.assign(assigned);
                self.exit(frame, name, s.kind, &output);
                Ok(advance(s, output))
            }
            StateKind::Succeed => {
                let output = apply_path(&s.output_path, &effective, &ctx)?;
                self.exit(frame, name, s.kind, &output);
                Ok(Step::End(output))
            }
            StateKind::Fail => Err(fail_state_error(s, &effective, &ctx)?),
            StateKind::Choice => {
                let next = chosen_next(name, s, &effective, &ctx)?;
                let assigned = jsonpath_assignments(s, &effective, &ctx)?;
                let output = apply_path(&s.output_path, &effective, &ctx)?;
                frame.assign(assigned);
                self.exit(frame, name, s.kind, &output);
                Ok(Step::Next(next, output))
            }
            StateKind::Wait => {
                let until = wait_until(s, entered, &effective, &ctx)?;
                self.sleep(until - self.clock.now()).await;
                let assigned = jsonpath_assignments(s, &effective, &ctx)?;
                let output = apply_path(&s.output_path, &effective, &ctx)?;
                frame.assign(assigned);
                self.exit(frame, name, s.kind, &output);
                Ok(advance(s, output))
            }
            StateKind::Task | StateKind::Parallel | StateKind::Map => {
                match self.with_retries(name, s, &effective, entered, frame).await {
                    Ok(result) => {
                        self.inspect(frame, "result", &result);
                        let selected = match &s.result_selector {
                            Some(sel) => payload::evaluate(sel, &result, &ctx)?,
                            None => result,
                        };
                        self.inspect(frame, "afterResultSelector", &selected);
                        let assigned = jsonpath_assignments(s, &selected, &ctx)?;
                        let output = self.finish(s, raw, selected, &ctx, frame)?;
                        frame.assign(assigned);
                        self.exit(frame, name, s.kind, &output);
                        Ok(advance(s, output))
                    }
                    Err(f) => self.catch(name, s, raw, f, frame),
                }
            }
        }
    }

    /// ResultPath then OutputPath; the output must fit the payload quota.
    fn finish(
        &self,
        s: &State,
        raw: Value,
        result: Value,
        ctx: &Value,
        frame: &Frame,
    ) -> Result<Value, Failure> {
        let merged = match &s.result_path {
            None => result,
            Some(Value::Null) => raw,
            Some(Value::String(p)) => paths::write(raw, p, result)?,
            Some(other) => return Err(Failure::runtime(format!("ResultPath {other} is not a path"))),
        };
        self.inspect(frame, "afterResultPath", &merged);
        let output = apply_path(&s.output_path, &merged, ctx)?;
        within_payload_limit("the state's output", &output)?;
        Ok(output)
    }
}

/// A JSONPath state's `Assign`: a payload template (`"name.$": "$.path"`, intrinsic
/// functions) over the state's result — after ResultSelector for Task, Parallel and Map,
/// the Pass state's result, the effective input of Choice and Wait — evaluated before
/// any of it lands.
fn jsonpath_assignments(s: &State, data: &Value, ctx: &Value) -> Result<Map<String, Value>, Failure> {
    match &s.assign {
        None => Ok(Map::new()),
        Some(template) => match payload::evaluate(template, data, ctx)? {
            Value::Object(values) => Ok(values),
            other => Err(Failure::runtime(format!(
                "Assign must be an object of variable names, got {other}"
            ))),
        },
    }
}

/// A Fail state's error: `Error`/`Cause`, or what `ErrorPath`/`CausePath` give.
fn fail_state_error(s: &State, effective: &Value, ctx: &Value) -> Result<Failure, Failure> {
    let text = |literal: &Option<String>, path: &Option<String>| -> Result<String, Failure> {
        match (literal, path) {
            (Some(l), _) => Ok(l.clone()),
            (None, Some(p)) => match payload::dynamic(p, effective, ctx)? {
                Value::String(s) => Ok(s),
                other => Err(Failure::runtime(format!("{p} must give a string, got {other}"))),
            },
            (None, None) => Ok(String::new()),
        }
    };
    Ok(Failure::new(
        text(&s.error, &s.error_path)?,
        text(&s.cause, &s.cause_path)?,
    ))
}

/// A Choice state's next state: the first rule that matches, else `Default`, else
/// `States.NoChoiceMatched`.
fn chosen_next(name: &str, s: &State, effective: &Value, ctx: &Value) -> Result<String, Failure> {
    for rule in s.choices.iter().flatten() {
        if choice::matches(rule, effective, ctx)? {
            return rule["Next"].as_str().map(String::from).ok_or_else(|| {
                Failure::new(
                    "States.NoChoiceMatched",
                    format!("a Choice rule of {name:?} has no Next"),
                )
            });
        }
    }
    s.default.clone().ok_or_else(|| {
        Failure::new(
            "States.NoChoiceMatched",
            format!("no Choice rule of {name:?} matched and it has no Default"),
        )
    })
}

/// The longest wait AWS starts: a delay of 2³¹ − 1 seconds (24,855 days) runs, one
/// day more fails with `States.Runtime` (recorded executions).
pub(super) const MAX_WAIT_SECONDS: i64 = i32::MAX as i64;

/// When a Wait state entered at `entered` ends (`Seconds`, `SecondsPath`, `Timestamp`
/// or `TimestampPath`), with AWS's messages for a bad path value.
fn wait_until(
    s: &State,
    entered: DateTime<Utc>,
    effective: &Value,
    ctx: &Value,
) -> Result<DateTime<Utc>, Failure> {
    let until = match (&s.seconds, &s.seconds_path, &s.timestamp, &s.timestamp_path) {
        (Some(secs), ..) => entered + Duration::seconds(secs.as_i64().unwrap_or(0).min(MAX_WAIT_SECONDS + 1)),
        (_, Some(p), ..) => {
            let secs = paths::read(p, effective, ctx)?;
            let secs = match secs.as_i64() {
                Some(n) if n < 0 => Err(format!(
                    "The SecondsPath parameter references a negative value: {p} == {secs}"
                )),
                Some(n) => Ok(n.min(MAX_WAIT_SECONDS + 1)),
                None => Err(format!(
                    "The SecondsPath parameter cannot be parsed as a long value: {p} == {secs}"
                )),
            }
            .map_err(Failure::runtime)?;
            entered + Duration::seconds(secs)
        }
        (_, _, Some(t), _) => parse_time(t)?,
        (_, _, _, Some(p)) => {
            let value = paths::read(p, effective, ctx)?;
            value.as_str().and_then(crate::parse_timestamp).map(|d| d.with_timezone(&Utc)).ok_or_else(|| {
                Failure::runtime(format!(
                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {p} == {value}"
                ))
            })?
        }
        _ => entered,
    };
    if (until - entered).num_seconds() > MAX_WAIT_SECONDS {
        return Err(Failure::runtime("Wait state delay is too long."));
    }
    Ok(until)
}

pub(super) fn parse_time(t: &str) -> Result<DateTime<Utc>, Failure> {
    crate::parse_timestamp(t)
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| {
            Failure::runtime(format!(
                "{t:?} is not a timestamp: RFC 3339 with an uppercase T between date and time (2026-01-01T00:00:00Z)"
            ))
        })
}

/// InputPath/OutputPath: absent = everything, null = `{}`, else the path's value.
fn apply_path(path: &Option<Value>, data: &Value, ctx: &Value) -> Result<Value, Failure> {
    match path {
        None => Ok(data.clone()),
        Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(Value::String(p)) => paths::read(p, data, ctx),
        Some(other) => Err(Failure::runtime(format!("{other} is not a path"))),
    }
}
