//! The live scenario's experiments: a virtual day of requests routed by the weights and
//! captured, labels arriving the next day, then the scheduled `ab-evaluation` look on
//! the endpoint's own traffic. A router fault can be injected for the first looks of an
//! experiment (the challenger receives half its share): the SRM monitor flags it, the
//! experiment holds, and once the fault is fixed the operator acknowledges it. The
//! shadow scenario runs the same looks: the evaluator sees the shadow on the endpoint.

use chrono::Duration;
use rand::Rng;
use serde_json::json;

use super::{Demo, DemoConfig, LookReport, Observer, BUCKET, ENDPOINT};
use crate::traffic::{Traffic, TrafficConfig};

/// How long after its request a label arrives in the demo.
const LABEL_DELAY_HOURS: i64 = 20;
/// The evaluator waits this long for a label (the schedule's `MaxLabelDelayHours`).
const MAX_LABEL_DELAY_HOURS: u32 = 24;

/// The demo's traffic: `requests_per_hour`, 90 % labelled, labels 20 hours late.
pub(super) fn demo_traffic(config: &DemoConfig) -> Traffic {
    Traffic::new(
        TrafficConfig {
            endpoint: ENDPOINT.into(),
            requests_per_hour: config.requests_per_hour,
            label_delay: Duration::hours(LABEL_DELAY_HOURS),
            label_share: 0.9,
            unlabelled_variants: vec![],
            truth: (BUCKET.into(), "ground-truth/".into()),
        },
        config.seed ^ 0x11fe,
    )
}

/// A production request: months of experience and the true rating; its label the salary.
fn request(rng: &mut rand::rngs::StdRng) -> (Vec<f64>, f64) {
    let months: f64 = rng.random_range(0.0..120.0);
    let rating: f64 = rng.random_range(0.0..1.0);
    let salary = 1000.0 + 20.0 * months + 300.0 * rating + rng.random_range(-25.0..25.0);
    (vec![months, rating], salary)
}

impl Demo<'_> {
    /// Live: a day of traffic, then a look, until the policy promotes or rolls back (or
    /// `max_looks`). The first `skewed_looks` windows route the challenger half its share.
    pub(super) async fn live_experiment(
        &mut self,
        experiment: u32,
        skewed_looks: u32,
        observer: &mut dyn Observer,
    ) -> Result<Vec<LookReport>, String> {
        let challenger = self.newest_variant()?;
        let mut looks: Vec<LookReport> = Vec::new();
        for n in 1..=self.config.max_looks {
            self.looks_run += 1;
            let skewed = n <= skewed_looks;
            observer.phase(&format!(
                "experiment {experiment}, look {n}: a day of live traffic{} → labels a day late → ab-evaluation",
                if skewed { " (router fault: the challenger gets half its share)" } else { "" }
            ));
            self.backend
                .skew_routing(&challenger, if skewed { 0.5 } else { 1.0 });
            for _ in 0..24 {
                self.traffic
                    .run_hour(self.backend, request)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            // The operator fixed the router after the first look without the fault.
            let flagged = looks.last().and_then(|l| l.srm).is_some_and(|(f, _)| f);
            let acknowledge = flagged && n > skewed_looks + 1;
            let report = self.live_look(experiment, n, acknowledge).await?;
            observer.looked(&report);
            let done = super::ends_experiment(&report.action);
            looks.push(report);
            if done {
                break;
            }
        }
        Ok(looks)
    }

    /// The scheduled look with the schedule's input (live source).
    async fn live_look(
        &mut self,
        experiment: u32,
        n: u32,
        acknowledge_srm: bool,
    ) -> Result<LookReport, String> {
        let input = json!({
            "endpointName": ENDPOINT,
            "source": {"type": "capture", "groundTruthUri": format!("s3://{BUCKET}/ground-truth/"),
                       "maxLabelDelayHours": MAX_LABEL_DELAY_HOURS, "acknowledgeSrm": acknowledge_srm},
            "policy": {"primaryMetric": "rmse", "maxStep": 0.2, "floor": 0.05}
        });
        self.scheduled_look(experiment, n, input).await
    }

    /// The variant deployed last (the challenger).
    fn newest_variant(&self) -> Result<String, String> {
        self.executions
            .iter()
            .rev()
            .filter(|e| e.machine == "retrain")
            .find_map(|e| {
                e.result.output.as_ref()?["variantName"]
                    .as_str()
                    .map(String::from)
            })
            .ok_or_else(|| "no challenger was deployed".to_string())
    }
}
