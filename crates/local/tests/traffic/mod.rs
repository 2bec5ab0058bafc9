//! Live traffic for the endpoint `salary`, shared by the live A/B and shadow tests:
//! `y = x0`, each model's error scaled by its noise factor on `x1 − 0.5`, 90 % of the
//! requests labelled six hours later under `s3://data/ground-truth/`.

use chrono::Duration;
use rand::Rng;
use weighbridge_local::traffic::{Traffic, TrafficConfig};
use weighbridge_local::MemoryBackend;

/// Traffic of `requests_per_hour` to `salary` (seeded).
pub fn traffic(requests_per_hour: usize) -> Traffic {
    Traffic::new(
        TrafficConfig {
            endpoint: "salary".into(),
            requests_per_hour,
            label_delay: Duration::hours(6),
            label_share: 0.9,
            unlabelled_variants: vec![],
            truth: ("data".into(), "ground-truth/".into()),
        },
        5,
    )
}

/// One request and its label: y = x0, so a model `x0 + noise·(x1 − 0.5)` errs by its
/// noise factor.
pub fn example(rng: &mut rand::rngs::StdRng) -> (Vec<f64>, f64) {
    let (x0, x1): (f64, f64) = (rng.random::<f64>() * 10.0, rng.random());
    (vec![x0, x1], x0)
}

/// `hours` hours of traffic on the virtual clock.
pub async fn run_hours(b: &MemoryBackend, t: &mut Traffic, hours: usize) {
    for _ in 0..hours {
        t.run_hour(b, example).await.expect("an hour of traffic");
    }
}
