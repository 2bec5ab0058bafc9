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
        retry_count: u64,
    ) -> Result<Value, Failure> {
        let resource = s.resource.as_deref().unwrap_or_default();
        let parameters = match &s.parameters {
            Some(p) => payload::evaluate(p, effective, ctx)?,
            None => effective.clone(),
        };
        let started = self.clock.now();
        self.history.push(
            started,
            "TaskScheduled",
            Some(name),
            json!({"resource": resource, "parameters": parameters}),
        );
        self.history
            .push(started, "TaskStarted", Some(name), json!({"resource": resource}));
        let task = TaskContext {
            execution_name: self.spec.name.clone(),
            state_name: name.to_string(),
            retry_count,
        };
        let result = self.resources.call(resource, parameters, &task).await;
        let took = self.clock.now() - started;
        let result = match (result, s.timeout_seconds) {
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
            Ok(output) => self.history.push(
                self.clock.now(),
                "TaskSucceeded",
                Some(name),
                json!({"output": output}),
            ),
            Err(f) if f.error == "States.Timeout" => {
                self.history
                    .push(self.clock.now(), "TaskTimedOut", Some(name), error_details(f))
            }
            Err(f) => self
                .history
                .push(self.clock.now(), "TaskFailed", Some(name), error_details(f)),
        }
        result
    }

    pub(super) async fn parallel(
        &self,
        name: &str,
        s: &State,
        effective: &Value,
        ctx: &Value,
    ) -> Result<Value, Failure> {
        let input = match &s.parameters {
            Some(p) => payload::evaluate(p, effective, ctx)?,
            None => effective.clone(),
        };
        self.history
            .push(self.clock.now(), "ParallelStateStarted", Some(name), json!({}));
        let branches = s.branches.as_deref().unwrap_or(&[]);
        let results =
            futures::future::join_all(branches.iter().map(|b| self.scope(b, input.clone(), None))).await;
        let outputs: Result<Vec<Value>, Failure> = results.into_iter().collect();
        match outputs {
            Ok(o) => {
                self.history
                    .push(self.clock.now(), "ParallelStateSucceeded", Some(name), json!({}));
                Ok(Value::Array(o))
            }
            Err(f) => {
                self.history.push(
                    self.clock.now(),
                    "ParallelStateFailed",
                    Some(name),
                    error_details(&f),
                );
                Err(f)
            }
        }
    }

    pub(super) async fn map(
        &self,
        name: &str,
        s: &State,
        effective: &Value,
        ctx: &Value,
    ) -> Result<Value, Failure> {
        let items = match &s.items_path {
            Some(p) => paths::read(p, effective, ctx)?,
            None => effective.clone(),
        };
        let items = items.as_array().cloned().ok_or_else(|| {
            Failure::runtime(format!("ItemsPath of {name:?} must select an array, got {items}"))
        })?;
        let processor = s
            .processor()
            .ok_or_else(|| Failure::runtime(format!("{name:?} has no ItemProcessor")))?;
        let selector = s.item_selector.as_ref().or(s.parameters.as_ref());
        self.history.push(
            self.clock.now(),
            "MapStateStarted",
            Some(name),
            json!({"length": items.len()}),
        );
        let concurrency = match s.max_concurrency {
            Some(0) | None => items.len().max(1),
            Some(n) => n as usize,
        };
        let failures = Arc::new(Mutex::new(0usize));
        let outputs: Vec<Result<Value, Failure>> = stream::iter(items.into_iter().enumerate())
            .map(|(index, value)| {
                let failures = failures.clone();
                async move {
                    let mut item_ctx = ctx.clone();
                    item_ctx["Map"] = json!({"Item": {"Index": index, "Value": value}});
                    let input = match selector {
                        Some(sel) => payload::evaluate(sel, effective, &item_ctx)?,
                        None => value.clone(),
                    };
                    self.history.push(
                        self.clock.now(),
                        "MapIterationStarted",
                        Some(name),
                        json!({"index": index}),
                    );
                    let result = self.scope(processor, input, Some((index, value))).await;
                    let kind = if result.is_ok() {
                        "MapIterationSucceeded"
                    } else {
                        "MapIterationFailed"
                    };
                    self.history
                        .push(self.clock.now(), kind, Some(name), json!({"index": index}));
                    if result.is_err() {
                        *failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
                    }
                    result
                }
            })
            .buffered(concurrency)
            .collect()
            .await;
        let total = outputs.len();
        let failed = *failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let tolerated = s.tolerated_failure_count.map(|c| c as usize).unwrap_or(0).max(
            s.tolerated_failure_percentage
                .map(|p| ((p / 100.0) * total as f64).floor() as usize)
                .unwrap_or(0),
        );
        if failed > tolerated {
            let first = outputs
                .into_iter()
                .find_map(Result::err)
                .unwrap_or_else(|| Failure::runtime("an iteration failed"));
            let f = if s.tolerated_failure_count.is_some() || s.tolerated_failure_percentage.is_some() {
                Failure::new(
                    "States.ExceedToleratedFailureThreshold",
                    format!("{failed} of {total} iterations failed, more than the {tolerated} tolerated; first: {first}"),
                )
            } else {
                first
            };
            self.history
                .push(self.clock.now(), "MapStateFailed", Some(name), error_details(&f));
            return Err(f);
        }
        self.history
            .push(self.clock.now(), "MapStateSucceeded", Some(name), json!({}));
        Ok(Value::Array(
            outputs
                .into_iter()
                .map(|r| r.unwrap_or_else(|f| json!({"Error": f.error, "Cause": f.cause})))
                .collect(),
        ))
    }
}
