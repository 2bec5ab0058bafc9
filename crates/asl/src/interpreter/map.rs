//! The inline Map state: its items, its concurrency (`MaxConcurrency` or
//! `MaxConcurrencyPath`), the iterations, and the tolerated failures. As on AWS, once more
//! iterations have failed than are tolerated, no further iteration starts: a task with
//! side effects is not called for the items after a failure (`MaxConcurrency: 1`).

use super::distributed::MapRun;
use super::*;

/// What became of one item.
enum Iteration {
    /// It ran to this end.
    Ran(Result<Value, Failure>),
    /// It never started: the Map had already failed.
    NotStarted,
}

impl Run<'_> {
    /// A Map state's work. A Distributed Map is also a Map Run (`MapRunStarted`, then
    /// `MapRunSucceeded` or `MapRunFailed`), which reads its items itself (so
    /// `MapStateStarted` counts 0 of them) and runs each in a child execution.
    pub(super) async fn map(
        &self,
        name: &str,
        s: &State,
        effective: &Value,
        ctx: &Value,
        frame: &Frame,
    ) -> Result<Value, Failure> {
        let map_run = is_distributed(s).then(|| self.map_run(name, s, frame));
        let early = match (&map_run, &s.item_reader) {
            (Some(_), Some(_)) => None,
            _ => Some(self.map_inputs(name, s, (effective, ctx, frame)).await?),
        };
        let events = self.events(frame);
        events.push(
            self.clock.now(),
            "MapStateStarted",
            Some(name),
            json!({"length": early.as_ref().map_or(0, Vec::len)}),
        );
        if let Some(run) = &map_run {
            events.push(
                self.clock.now(),
                "MapRunStarted",
                Some(name),
                json!({"mapRunArn": run.arn}),
            );
        }
        let result = self
            .run_items(name, s, (effective, ctx, frame), early, map_run.as_ref())
            .await;
        match (&map_run, &result) {
            (Some(_), Ok(_)) => events.push(self.clock.now(), "MapRunSucceeded", Some(name), json!({})),
            (Some(_), Err(f)) => events.push(self.clock.now(), "MapRunFailed", Some(name), error_details(f)),
            (None, _) => {}
        }
        if result.is_ok() {
            events.push(self.clock.now(), "MapStateSucceeded", Some(name), json!({}));
        }
        // MapStateFailed is written once, after the last attempt (`with_retries`).
        result
    }

    /// The items (`early`, or read now), run at the Map's concurrency, and the Map's
    /// result: the outputs, or with a `ResultWriter` where they were written.
    async fn run_items(
        &self,
        name: &str,
        s: &State,
        (effective, ctx, frame): (&Value, &Value, &Frame),
        early: Option<Vec<Value>>,
        map_run: Option<&MapRun>,
    ) -> Result<Value, Failure> {
        let items = match early {
            Some(items) => items,
            None => self.map_inputs(name, s, (effective, ctx, frame)).await?,
        };
        let concurrency = max_concurrency(s, effective, ctx, items.len())?;
        let tolerated = tolerated_failures(s, items.len());
        let inputs = s.result_writer.as_ref().map(|_| items.clone());
        let iterations = self
            .iterations(
                name,
                s,
                (effective, ctx, frame),
                items,
                (concurrency, tolerated),
                map_run,
            )
            .await;
        match (&s.result_writer, inputs) {
            (Some(writer), Some(inputs)) => {
                let run = map_run.cloned().unwrap_or_else(|| self.map_run(name, s, frame));
                self.written(writer, (inputs, iterations), (s, tolerated), &run)
                    .await
            }
            _ => map_outcome(s, iterations, tolerated),
        }
    }

    /// The Map's items: from `ItemReader` (Distributed Map), `Items` (JSONata) or
    /// `ItemsPath`; with an `ItemBatcher`, each item through `ItemSelector` and then
    /// grouped into batches, which are what the iterations receive.
    async fn map_inputs(
        &self,
        name: &str,
        s: &State,
        (effective, ctx, frame): (&Value, &Value, &Frame),
    ) -> Result<Vec<Value>, Failure> {
        let items = match (&s.item_reader, QueryLanguage::of(s, self.language)) {
            (Some(reader), _) => self.read_items(name, reader, (effective, ctx, frame)).await?,
            (None, QueryLanguage::JsonPath) => map_items(name, s, effective, ctx)?,
            (None, QueryLanguage::Jsonata) => super::jsonata_state::map_items(s, effective, ctx, frame)?,
        };
        let Some(batcher) = &s.item_batcher else {
            return Ok(items);
        };
        let selected = items
            .into_iter()
            .enumerate()
            .map(|(index, value)| self.selected(s, (effective, ctx, frame), index, value))
            .collect::<Result<Vec<_>, _>>()?;
        super::distributed::batches(batcher, selected, (effective, ctx))
    }

    /// The Map's output with a `ResultWriter`: the failures checked against the
    /// tolerance as without one, then the results written and their location answered.
    async fn written(
        &self,
        writer: &Value,
        (inputs, iterations): (Vec<Value>, Vec<Iteration>),
        (s, tolerated): (&State, usize),
        run: &MapRun,
    ) -> Result<Value, Failure> {
        let ran: Vec<(Value, Result<Value, Failure>)> = inputs
            .into_iter()
            .zip(iterations)
            .filter_map(|(input, i)| match i {
                Iteration::Ran(r) => Some((input, r)),
                Iteration::NotStarted => None,
            })
            .collect();
        let checked: Vec<Iteration> = ran.iter().map(|(_, r)| Iteration::Ran(r.clone())).collect();
        map_outcome(s, checked, tolerated)?;
        self.write_results(run, writer, &ran).await
    }

    /// An item through `ItemSelector` (or `Parameters`), as the iteration receives it.
    fn selected(
        &self,
        s: &State,
        (effective, ctx, frame): (&Value, &Value, &Frame),
        index: usize,
        value: Value,
    ) -> Result<Value, Failure> {
        let mut item_ctx = ctx.clone();
        item_ctx["Map"] = json!({"Item": {"Index": index, "Value": value}});
        match (
            QueryLanguage::of(s, self.language),
            &s.item_selector,
            &s.parameters,
        ) {
            (QueryLanguage::Jsonata, Some(sel), _) => {
                super::jsonata_state::item_selection(sel, effective, &item_ctx, frame)
            }
            (QueryLanguage::JsonPath, Some(sel), _) | (QueryLanguage::JsonPath, None, Some(sel)) => {
                payload::evaluate(sel, effective, &item_ctx)
            }
            _ => Ok(value),
        }
    }

    /// Runs the items, at most `concurrency` at a time (a finished iteration frees its
    /// place at once, even while an earlier one still runs), starting none once more
    /// than `tolerated` have failed. The iterations come back in item order.
    async fn iterations(
        &self,
        name: &str,
        s: &State,
        (effective, ctx, frame): (&Value, &Value, &Frame),
        items: Vec<Value>,
        (concurrency, tolerated): (usize, usize),
        map_run: Option<&MapRun>,
    ) -> Vec<Iteration> {
        let failures = Arc::new(Mutex::new(0usize));
        let failed_count =
            |f: &Arc<Mutex<usize>>| *f.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut finished = stream::iter(items.into_iter().enumerate())
            .map(|(index, value)| {
                let failures = failures.clone();
                async move {
                    if failed_count(&failures) > tolerated {
                        return (index, Iteration::NotStarted);
                    }
                    let result = self
                        .iteration(name, s, (effective, ctx, frame), (index, value), map_run)
                        .await;
                    if result.is_err() {
                        *failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
                    }
                    (index, Iteration::Ran(result))
                }
            })
            .buffer_unordered(concurrency)
            .collect::<Vec<_>>()
            .await;
        finished.sort_by_key(|(index, _)| *index);
        finished.into_iter().map(|(_, i)| i).collect()
    }

    /// One item through the processor: in a child frame between its MapIteration
    /// events, or in a Distributed Map's child execution (its own history).
    async fn iteration(
        &self,
        name: &str,
        s: &State,
        (effective, ctx, frame): (&Value, &Value, &Frame),
        (index, value): (usize, Value),
        map_run: Option<&MapRun>,
    ) -> Result<Value, Failure> {
        let processor = s
            .processor()
            .ok_or_else(|| Failure::runtime(format!("{name:?} has no ItemProcessor")))?;
        // With an ItemBatcher the items were selected before they were batched.
        let input = match &s.item_batcher {
            Some(_) => value.clone(),
            None => self.selected(s, (effective, ctx, frame), index, value.clone())?,
        };
        if let Some(run) = map_run {
            return self
                .child_execution(run, processor, frame, (index, value), input)
                .await;
        }
        let events = self.events(frame);
        events.push(
            self.clock.now(),
            "MapIterationStarted",
            Some(name),
            json!({"index": index}),
        );
        let child = frame.child(&format!("[{index}]"), Some((index, value)));
        let result = self.scope(processor, input, child).await;
        let kind = if result.is_ok() {
            "MapIterationSucceeded"
        } else {
            "MapIterationFailed"
        };
        events.push(self.clock.now(), kind, Some(name), json!({"index": index}));
        result
    }
}

/// Whether the Map runs its items as child executions (`ProcessorConfig.Mode`).
fn is_distributed(s: &State) -> bool {
    s.processor()
        .and_then(|p| p.processor_config.as_ref())
        .is_some_and(|c| c["Mode"] == "DISTRIBUTED")
}

/// The items: `ItemsPath` (default `$`) must select an array.
fn map_items(name: &str, s: &State, effective: &Value, ctx: &Value) -> Result<Vec<Value>, Failure> {
    let items = match &s.items_path {
        Some(p) => paths::read(p, effective, ctx)?,
        None => effective.clone(),
    };
    match items {
        Value::Array(items) => Ok(items),
        other => Err(Failure::runtime(format!(
            "ItemsPath of {name:?} must select an array, got {other}"
        ))),
    }
}

/// `MaxConcurrency`, or what `MaxConcurrencyPath` selects (a non-negative integer, else
/// `States.Runtime`); 0 or absent means all items at once.
fn max_concurrency(s: &State, effective: &Value, ctx: &Value, items: usize) -> Result<usize, Failure> {
    let limit = match &s.max_concurrency_path {
        Some(p) => {
            let value = paths::read(p, effective, ctx)?;
            Some(value.as_u64().ok_or_else(|| {
                Failure::runtime(format!(
                    "The MaxConcurrencyPath field refers to value {value} which is not a valid integer: {p}"
                ))
            })?)
        }
        None => s.max_concurrency,
    };
    Ok(match limit {
        Some(0) | None => items.max(1),
        Some(n) => usize::try_from(n).unwrap_or(usize::MAX),
    })
}

/// How many failed iterations the Map tolerates: the larger of the count and the
/// percentage of the items (rounded down).
fn tolerated_failures(s: &State, total: usize) -> usize {
    let by_count = s.tolerated_failure_count.map(|c| c as usize).unwrap_or(0);
    let by_share = s
        .tolerated_failure_percentage
        .map(|p| ((p / 100.0) * total as f64).floor() as usize)
        .unwrap_or(0);
    by_count.max(by_share)
}

/// The Map's result: the outputs in item order (a tolerated failure's place holds its
/// error), or its failure.
fn map_outcome(s: &State, iterations: Vec<Iteration>, tolerated: usize) -> Result<Value, Failure> {
    let total = iterations.len();
    let failed: Vec<&Failure> = iterations
        .iter()
        .filter_map(|i| match i {
            Iteration::Ran(Err(f)) => Some(f),
            _ => None,
        })
        .collect();
    if failed.len() > tolerated {
        let first = failed[0].clone();
        if s.tolerated_failure_count.is_none() && s.tolerated_failure_percentage.is_none() {
            return Err(first);
        }
        return Err(Failure::new(
            "States.ExceedToleratedFailureThreshold",
            format!(
                "{} of {total} iterations failed, more than the {tolerated} tolerated; first: {first}",
                failed.len()
            ),
        ));
    }
    Ok(Value::Array(
        iterations
            .into_iter()
            .map(|i| match i {
                Iteration::Ran(Ok(v)) => v,
                Iteration::Ran(Err(f)) => json!({"Error": f.error, "Cause": f.cause}),
                Iteration::NotStarted => Value::Null,
            })
            .collect(),
    ))
}
