//! Live traffic on the virtual clock: requests spread evenly over each hour, routed by
//! the endpoint's weights (and captured, if its config says so), each with an
//! `InferenceId`; its ground truth arrives `label_delay` later — for `label_share` of
//! the requests, or per variant where a test wants one variant's labels to stop — as
//! JSON Lines in Model Monitor's merge format, under the hour partition it arrives in.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use serde_json::json;
use weighbridge_asl::interpreter::Clock;
use weighbridge_tasks::ports::{InvokeRequest, ObjectStore, PortError, PutCondition, Runtime};

use crate::MemoryBackend;

/// One request's features and true label, drawn by the caller's population.
pub type Example = (Vec<f64>, f64);

/// The traffic's settings.
#[derive(Debug, Clone)]
pub struct TrafficConfig {
    /// The endpoint receiving requests.
    pub endpoint: String,
    /// Requests per virtual hour.
    pub requests_per_hour: usize,
    /// How long after its request a label arrives.
    pub label_delay: Duration,
    /// Share of requests that ever get a label.
    pub label_share: f64,
    /// Variants whose labels stop arriving (a broken ground-truth feed).
    pub unlabelled_variants: Vec<String>,
    /// `(bucket, prefix)` the ground truth is written under (`prefix/yyyy/mm/dd/hh/`).
    pub truth: (String, String),
}

/// What one hour of traffic did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HourStats {
    /// Requests answered, per variant.
    pub requests: BTreeMap<String, u64>,
    /// Labels written this hour.
    pub labels_written: u64,
    /// Requests the endpoint failed (a variant's container answering 500: ModelError).
    pub failed: u64,
}

/// A traffic generator with its labels in flight.
pub struct Traffic {
    config: TrafficConfig,
    rng: rand::rngs::StdRng,
    sent: u64,
    /// Labels not yet arrived: (arrival time, inference ID, label).
    in_flight: Vec<(DateTime<Utc>, String, f64)>,
}

impl Traffic {
    /// A generator; `seed` fixes which requests get labels.
    pub fn new(config: TrafficConfig, seed: u64) -> Self {
        Self {
            config,
            rng: rand::rngs::StdRng::seed_from_u64(seed),
            sent: 0,
            in_flight: Vec::new(),
        }
    }

    /// The settings, to change between hours (e.g. stop one variant's labels).
    pub fn config_mut(&mut self) -> &mut TrafficConfig {
        &mut self.config
    }

    /// Sends one virtual hour of requests (the clock advances through the hour) and
    /// writes the labels that arrived by its end.
    pub async fn run_hour(
        &mut self,
        backend: &MemoryBackend,
        example: impl FnMut(&mut rand::rngs::StdRng) -> Example,
    ) -> Result<HourStats, PortError> {
        self.run_for(backend, Duration::hours(1), example).await
    }

    /// Sends `span` of requests at the configured rate (at least one), then writes the
    /// labels that arrived by its end. A request the endpoint fails with a 5xx (a broken
    /// container) is counted in `failed`, not an error: callers keep calling, as users do.
    pub async fn run_for(
        &mut self,
        backend: &MemoryBackend,
        span: Duration,
        mut example: impl FnMut(&mut rand::rngs::StdRng) -> Example,
    ) -> Result<HourStats, PortError> {
        let clock = backend.clock();
        let per_hour = self.config.requests_per_hour.max(1) as i64;
        let n = (per_hour * span.num_seconds() / 3600).max(1);
        let step = Duration::milliseconds(span.num_milliseconds() / n);
        let mut stats = HourStats::default();
        for _ in 0..n {
            clock.advance(step);
            let (features, label) = example(&mut self.rng);
            let id = format!("req-{:09}", self.sent);
            self.sent += 1;
            let body = features.iter().map(f64::to_string).collect::<Vec<_>>().join(",");
            let answer = backend
                .invoke_endpoint(&InvokeRequest {
                    endpoint: self.config.endpoint.clone(),
                    body: body.into_bytes(),
                    content_type: "text/csv".into(),
                    accept: Some("text/csv".into()),
                    target_variant: None,
                    target_model: None,
                    inference_id: Some(id.clone()),
                })
                .await;
            let answer = match answer {
                Err(PortError::Unavailable(_)) => {
                    stats.failed += 1;
                    continue;
                }
                other => other?,
            };
            let variant = answer.invoked_variant.unwrap_or_default();
            let labelled = !self.config.unlabelled_variants.contains(&variant)
                && self.rng.random::<f64>() < self.config.label_share;
            if labelled {
                self.in_flight
                    .push((clock.now() + self.config.label_delay, id, label));
            }
            *stats.requests.entry(variant).or_default() += 1;
        }
        stats.labels_written = self.write_arrived(backend, clock.now()).await?;
        Ok(stats)
    }

    /// Writes every label that has arrived by `now`, one object per arrival hour.
    async fn write_arrived(&mut self, backend: &MemoryBackend, now: DateTime<Utc>) -> Result<u64, PortError> {
        let (arrived, waiting): (Vec<_>, Vec<_>) = self.in_flight.drain(..).partition(|(t, _, _)| *t <= now);
        self.in_flight = waiting;
        let mut by_hour: BTreeMap<String, String> = BTreeMap::new();
        for (t, id, label) in &arrived {
            let line = json!({
                "groundTruthData": {"data": label.to_string(), "encoding": "CSV"},
                "eventMetadata": {"eventId": id},
                "eventVersion": "0",
            });
            let body = by_hour.entry(t.format("%Y/%m/%d/%H").to_string()).or_default();
            body.push_str(&line.to_string());
            body.push('\n');
        }
        let (bucket, prefix) = &self.config.truth;
        for (hour, body) in by_hour {
            let key = format!("{prefix}{hour}/labels-{:09}.jsonl", self.sent);
            backend
                .put_object(bucket, &key, body.into_bytes(), PutCondition::Always)
                .await?;
        }
        Ok(arrived.len() as u64)
    }
}
