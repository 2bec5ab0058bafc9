//! Retry and Catch around a state's work: which errors a retrier or catcher handles,
//! backoff with MaxDelaySeconds and jitter, and the error output a catcher passes on.

use super::*;

impl Run<'_> {
    /// Failures neither Retry nor Catch may handle: `States.Runtime`, and the execution's
    /// own timeout.
    pub(super) fn uncatchable(&self, failure: &Failure) -> bool {
        failure.error == "States.Runtime" || (failure.error == "States.Timeout" && self.past_deadline())
    }

    /// The catcher that takes `failure` (the first whose names match), if any may:
    /// uncatchable errors and TestState's retriable ones go on. In both query languages.
    pub(super) fn catcher<'s>(
        &self,
        (name, s): (&str, &'s State),
        failure: &Failure,
        frame: &Frame,
    ) -> Option<&'s Catcher> {
        if self.uncatchable(failure) || self.retriable_in_test(frame) {
            return None;
        }
        let catcher = s
            .catch
            .iter()
            .flatten()
            .find(|c: &&Catcher| matches_error(&c.error_equals, &failure.error))?;
        if let Some(i) = self.tested(frame) {
            i.mark("CAUGHT_ERROR");
        }
        self.handled(frame, name);
        Some(catcher)
    }

    pub(super) fn catch(
        &self,
        name: &str,
        s: &State,
        raw: Value,
        failure: Failure,
        frame: &Frame,
    ) -> Result<Step, Failure> {
        let Some(catcher) = self.catcher((name, s), &failure, frame) else {
            return Err(failure);
        };
        let error = json!({"Error": failure.error, "Cause": failure.cause});
        let output = match &catcher.result_path {
            None => error,
            Some(Value::Null) => raw,
            Some(Value::String(p)) => paths::write(raw, p, error)?,
            Some(other) => {
                return Err(Failure::runtime(format!(
                    "Catch ResultPath {other} is not a path"
                )))
            }
        };
        self.exit(frame, name, s.kind, &output);
        Ok(Step::Next(catcher.next.clone(), output))
    }

    /// TestState found a Retry that would run the state again: no Catch applies.
    pub(super) fn retriable_in_test(&self, frame: &Frame) -> bool {
        self.tested(frame).and_then(|i| i.marked()) == Some("RETRIABLE")
    }

    /// Runs the state's work, retrying per `Retry`; a Parallel or Map state that fails
    /// for good writes its `…StateFailed` event once, after the last attempt, as AWS does.
    pub(super) async fn with_retries(
        &self,
        name: &str,
        s: &State,
        effective: &Value,
        entered: DateTime<Utc>,
        frame: &Frame,
    ) -> Result<Value, Failure> {
        let result = self.attempts(name, s, effective, entered, frame).await;
        if result.is_ok() {
            self.handled(frame, name);
        }
        if let (Err(f), StateKind::Parallel | StateKind::Map) = (&result, s.kind) {
            self.events(frame).push(
                self.clock.now(),
                &format!("{}StateFailed", s.kind.event_prefix()),
                Some(name),
                error_details(f),
            );
        }
        result
    }

    /// The state's work (task call, branches, iterations), attempted per `Retry`.
    async fn attempts(
        &self,
        name: &str,
        s: &State,
        effective: &Value,
        entered: DateTime<Utc>,
        frame: &Frame,
    ) -> Result<Value, Failure> {
        let retriers: &[Retrier] = s.retry.as_deref().unwrap_or(&[]);
        let mut attempts = vec![0u64; retriers.len()];
        let mut retry_count = 0u64;
        let visit = self.visit_key(frame, name);
        loop {
            let mut ctx = self.context(name, entered, Some(retry_count), frame);
            self.add_task_token(name, s, frame, &mut ctx);
            // The attempt's work is keyed `/State@visit.attempt` (its calls, its children).
            let frame = &frame.working(format!("{visit}{retry_count}"));
            let result = match s.kind {
                StateKind::Task => self.task(name, s, effective, &ctx, (retry_count, frame)).await,
                StateKind::Parallel => {
                    async {
                        let input = match &s.parameters {
                            Some(p) => payload::evaluate(p, effective, &ctx)?,
                            None => effective.clone(),
                        };
                        self.parallel(name, s, &input, frame).await
                    }
                    .await
                }
                StateKind::Map => self.map(name, s, effective, &ctx, frame).await,
                _ => unreachable!("only Task, Parallel and Map do work"),
            };
            let failure = match result {
                Ok(v) => return Ok(v),
                Err(f) => f,
            };
            if self.uncatchable(&failure) {
                return Err(failure);
            }
            let Some(index) = retriers
                .iter()
                .position(|r| matches_error(&r.error_equals, &failure.error))
            else {
                return Err(failure);
            };
            let r = &retriers[index];
            if attempts[index] >= r.max_attempts {
                return Err(failure);
            }
            if let Some(i) = self.tested(frame) {
                // TestState runs a state once and says a Retry would run it again.
                i.mark("RETRIABLE");
                return Err(failure);
            }
            let mut delay = r.interval_seconds * r.backoff_rate.powi(attempts[index] as i32);
            if let Some(max) = r.max_delay_seconds {
                delay = delay.min(max);
            }
            if r.jitter_strategy.as_deref() == Some("FULL") {
                delay *= self
                    .rng
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .random::<f64>();
            }
            attempts[index] += 1;
            retry_count += 1;
            self.sleep(Duration::milliseconds((delay * 1000.0) as i64)).await;
        }
    }
}
