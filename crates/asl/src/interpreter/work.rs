//! The work of Task, Parallel and Map states: a resource call under its timeout, branches
//! side by side, and a processor over each item with the tolerated failures.

use super::*;

impl Run<'_> {
    pub(super) async fn task(
        &self,
        name: &str,
        s: &State,
        effective: &Value,
        ctx: &Value,
        (retry_count, frame): (u64, &Frame),
    ) -> Result<Value, Failure> {
        let resource = s.resource.as_deref().unwrap_or_default();
        let parameters = match &s.parameters {
            Some(p) => payload::evaluate(p, effective, ctx)?,
            None => effective.clone(),
        };
        within_payload_limit("the task's input after Parameters", &parameters)?;
        if s.parameters.is_some() {
            self.inspect(frame, "afterParameters", &parameters);
        }
        let timeout = match &s.timeout_seconds_path {
            Some(p) => Some(positive_seconds("TimeoutSecondsPath", p, effective, ctx)?),
            None => s.timeout_seconds,
        };
        // A call answers at once here, so only a task token's wait can outlast a heartbeat.
        let heartbeat = match &s.heartbeat_seconds_path {
            Some(p) => Some(positive_seconds("HeartbeatSecondsPath", p, effective, ctx)?),
            None => s.heartbeat_seconds,
        };
        let started = self.clock.now();
        let events = self.events(frame);
        events.push(
            started,
            "TaskScheduled",
            Some(name),
            json!({"resource": resource, "parameters": parameters}),
        );
        events.push(started, "TaskStarted", Some(name), json!({"resource": resource}));
        let task = TaskContext {
            execution_name: self.spec.name.clone(),
            state_name: name.to_string(),
            retry_count,
            call_number: 0,
        };
        let result = self
            .journaled_call((frame, s), resource, parameters, &task, (timeout, heartbeat))
            .await
            .and_then(|output| within_payload_limit("the task's result", &output).map(|()| output));
        let took = self.clock.now() - started;
        let result = match (result, timeout) {
            (Ok(_), Some(limit)) if took > Duration::seconds(limit as i64) => Err(Failure::new(
                "States.Timeout",
                format!(
                    "the task took {}s, over its TimeoutSeconds {limit}",
                    took.num_seconds()
                ),
            )),
            (r, _) => r,
        };
        match &result {
            Ok(output) => events.push(
                self.clock.now(),
                "TaskSucceeded",
                Some(name),
                json!({"output": output}),
            ),
            Err(f) if f.error == "States.Timeout" || f.error == "States.HeartbeatTimeout" => {
                events.push(self.clock.now(), "TaskTimedOut", Some(name), error_details(f))
            }
            Err(f) => events.push(self.clock.now(), "TaskFailed", Some(name), error_details(f)),
        }
        result
    }

    /// Runs the branches on `input` (the state's effective input after Parameters, or
    /// its Arguments), each in a child frame.
    pub(super) async fn parallel(
        &self,
        name: &str,
        s: &State,
        input: &Value,
        frame: &Frame,
    ) -> Result<Value, Failure> {
        self.history
            .push(self.clock.now(), "ParallelStateStarted", Some(name), json!({}));
        let branches = s.branches.as_deref().unwrap_or(&[]);
        let results = futures::future::join_all(
            branches
                .iter()
                .enumerate()
                .map(|(i, b)| self.scope(b, input.clone(), frame.child(&format!("#{i}"), None))),
        )
        .await;
        let outputs: Result<Vec<Value>, Failure> = results.into_iter().collect();
        match outputs {
            Ok(o) => {
                self.history
                    .push(self.clock.now(), "ParallelStateSucceeded", Some(name), json!({}));
                Ok(Value::Array(o))
            }
            // ParallelStateFailed is written once, after the last attempt (`with_retries`).
            Err(f) => Err(f),
        }
    }
}

/// A `…SecondsPath` value: a positive integer, else `States.Runtime`.
fn positive_seconds(field: &str, path: &str, effective: &Value, ctx: &Value) -> Result<u64, Failure> {
    let value = paths::read(path, effective, ctx)?;
    value.as_u64().filter(|n| *n > 0).ok_or_else(|| {
        Failure::runtime(format!(
            "The {field} parameter must reference a positive integer: {path} == {value}"
        ))
    })
}
