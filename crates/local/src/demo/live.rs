//! The live scenario's experiments: a virtual day of requests routed by the weights and
//! captured, labels arriving the next day, then the scheduled `ab-evaluation` look on
//! the endpoint's own traffic. A router fault can be injected for the first looks of an
//! experiment (the challenger receives half its share): the SRM monitor flags it, the
//! experiment holds, and once the fault is fixed the operator acknowledges it. The
//! shadow scenario runs the same looks: the evaluator sees the shadow on the endpoint.

use chrono::Duration;
use rand::Rng;
use serde_json::json;

use super::{AlarmRollbackReport, Demo, DemoConfig, LookReport, Observer, BUCKET, ENDPOINT};
use crate::traffic::{Traffic, TrafficConfig};
use crate::workflows::run_started;
use weighbridge_asl::interpreter::Clock;

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
            "policy": {"primaryMetric": "rmse", "maxStep": 0.2, "floor": 0.05},
            // As the template's schedule: a shadow graduates with challenger alarms.
            "shadow": {"graduateAlarms": {}}
        });
        self.scheduled_look(experiment, n, input).await
    }

    /// A challenger whose container starts answering 500s after an hour of traffic:
    /// minute by minute, until its 5xx alarm has started alarm-rollback (which runs).
    pub(super) async fn failing_challenger(
        &mut self,
        observer: &mut dyn Observer,
    ) -> Result<AlarmRollbackReport, String> {
        let challenger = self.newest_variant()?;
        observer.phase(
            "experiment 3: an hour of live traffic, then the challenger's container starts answering 500s",
        );
        self.traffic
            .run_hour(self.backend, request)
            .await
            .map_err(|e| e.to_string())?;
        let fault_at = self.backend.clock().now();
        self.backend.fail_variant(&challenger);
        let (mut failed, mut champion) = (0, 0);
        let mut runs = Vec::new();
        while runs.is_empty() {
            if self.backend.clock().now() - fault_at > Duration::minutes(30) {
                return Err(format!("no alarm rolled {challenger} back within 30 minutes"));
            }
            let minute = self
                .traffic
                .run_for(self.backend, Duration::minutes(1), request)
                .await
                .map_err(|e| e.to_string())?;
            failed += minute.failed;
            champion += minute
                .requests
                .iter()
                .filter(|(v, _)| **v != challenger)
                .map(|(_, n)| n)
                .sum::<u64>();
            runs = run_started(self.backend, &self.deployment, &self.env)
                .await
                .map_err(|e| e.to_string())?;
        }
        let run = &runs[0].result;
        let output = run.output.clone().unwrap_or_default();
        let out_of_traffic_at = run
            .history
            .iter()
            .find(|e| e.state.as_deref() == Some("TakeOutOfTraffic"))
            .map_or(fault_at, |e| e.timestamp);
        let report = AlarmRollbackReport {
            variant: challenger,
            alarm: output["alarmName"].as_str().unwrap_or_default().to_string(),
            fault_at,
            out_of_traffic_at,
            failed_requests: failed,
            champion_requests: champion,
            outcome: output["outcome"].as_str().unwrap_or("failed").to_string(),
            experiment_record: output["experimentRecord"].as_str().map(str::to_string),
        };
        self.executions.extend(runs);
        observer.alarm_rolled_back(&report);
        Ok(report)
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
