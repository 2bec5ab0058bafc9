//! Seeded simulations of A/B experiments on **live traffic** (`source: capture`), with
//! the evaluator's own rules: each request reaches one variant (routed by the weights,
//! or by a skewed router for an SRM), 90 % of requests get a label, a look's labels are
//! those of the previous look window (captures wait a day for their labels, looks are
//! daily), the evidence is two-sample per window and pooled across windows, the SRM
//! monitor counts every window's requests, and an SRM holds the experiment.
//!
//! The data: regression errors are `N(0, 1 + σ²)` per request (champion `σ² = 0.25`);
//! classification rows have prevalence 0.3 and scores `μ·y + N(0, 1)`, AUC `Φ(μ/√2)`.

// Simulated inputs are the program's own, never a user's: their invariants are asserted.
#![allow(clippy::expect_used)]

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_distr::{Binomial, Distribution, StandardNormal};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::{evidence, held_figure, median_look, rate, separation, Figure, Scenario};
use crate::compare::{
    auc_estimate, unpaired_auc_difference, welch_difference, LossMoments, LossStatistic, TwoSampleDifference,
};
use crate::normal;
use crate::policy::{decide, Action, PolicyConfig};
use crate::sequential::PooledEstimate;
use crate::srm::{SrmMonitor, DEFAULT_ALPHA, DEFAULT_CONCENTRATION};

/// Settings of a live simulation.
#[derive(Debug, Clone)]
pub struct LiveSimulation {
    /// Which metric and how far apart the variants are.
    pub scenario: Scenario,
    /// Simulated experiments.
    pub runs: usize,
    /// Looks per experiment at most.
    pub looks: u32,
    /// Requests per look window, all variants together.
    pub requests_per_look: u64,
    /// Share of requests whose label arrives.
    pub label_share: f64,
    /// The router's skew: the challenger receives this times the traffic its weight
    /// promises (1: no SRM; 0.8: 8 % instead of 10 %).
    pub challenger_skew: f64,
    /// Seeds the runs (run i uses seed ^ i·k).
    pub seed: u64,
    /// The policy under test.
    pub policy: PolicyConfig,
}

/// How one live run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiveOutcome {
    /// The look at which the challenger was promoted, if it was.
    pub promoted_at: Option<u32>,
    /// The look at which it was rolled back, if it was.
    pub rolled_back_at: Option<u32>,
    /// The first look at which a naive repeated two-sided z test favoured the challenger.
    pub naive_win_at: Option<u32>,
    /// The look at which the SRM monitor flagged, if it did.
    pub srm_at: Option<u32>,
    /// Whether a promotion or shift happened while the SRM stood (must never).
    pub moved_during_srm: bool,
}

/// One arm's labelled rows of one window.
enum Window {
    Losses(LossMoments),
    Scores(Vec<f64>, Vec<f64>),
}

impl LiveSimulation {
    /// Runs every experiment on `threads` threads; results depend only on the seed.
    pub fn run(&self, threads: usize) -> Vec<LiveOutcome> {
        super::run_each(self.runs, threads, |run| self.one_run(run))
    }

    fn one_run(&self, run: u64) -> LiveOutcome {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed ^ run.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut weights: BTreeMap<String, f64> =
            [("champion".to_string(), 0.9), ("challenger".to_string(), 0.1)].into();
        let mut out = LiveOutcome::default();
        let mut srm = SrmMonitor::default();
        let mut pooled = PooledEstimate::default();
        let mut champion_value = (0.0, 0u32);
        let mut waiting: Option<(Window, Window)> = None;
        let z_naive = normal::quantile(1.0 - self.policy.alpha / 2.0);
        for look in 1..=self.looks {
            // The window since the last look: requests routed, counted, some labelled.
            let (w_a, w_c) = (weights["champion"], weights["challenger"]);
            let p = self.challenger_skew * w_c / (self.challenger_skew * w_c + w_a);
            let n_c = Binomial::new(self.requests_per_look, p)
                .expect("p in [0,1]")
                .sample(&mut rng);
            let n_a = self.requests_per_look - n_c;
            srm.add_window(&[n_a, n_c], &[w_a, w_c], DEFAULT_CONCENTRATION, DEFAULT_ALPHA)
                .expect("valid counts");
            if out.srm_at.is_none() && srm.verdict().flagged {
                out.srm_at = Some(look);
            }
            let labelled = |n: u64, rng: &mut Xoshiro256PlusPlus| {
                Binomial::new(n, self.label_share)
                    .expect("share in [0,1]")
                    .sample(rng) as usize
            };
            let this_window = (
                self.window(labelled(n_a, &mut rng), false, &mut rng),
                self.window(labelled(n_c, &mut rng), true, &mut rng),
            );
            // The labels of the previous window have arrived: its evidence joins.
            let Some((a, c)) = waiting.replace(this_window) else {
                continue;
            };
            let Some((d, champion)) = difference(&a, &c) else {
                continue;
            };
            pooled.add_look(d.estimate, d.se, d.rows());
            champion_value = (champion_value.0 + champion, champion_value.1 + 1);
            let (estimate, se) = pooled.estimate().expect("one window added");
            if out.naive_win_at.is_none() && self.policy.direction.improvement(estimate) > z_naive * se {
                out.naive_win_at = Some(look);
            }
            if srm.verdict().flagged {
                continue; // held: no shift, no promotion, no rollback
            }
            let metric = match self.scenario {
                Scenario::Rmse { .. } => "rmse",
                Scenario::Auc { .. } => "auc",
            };
            let e = evidence(
                metric,
                champion_value.0 / f64::from(champion_value.1),
                estimate,
                se,
                pooled.rows,
            );
            let decision = decide(&weights, &[e], &self.policy).expect("simulated inputs are valid");
            match decision.action {
                Action::Promote => {
                    out.promoted_at = Some(look);
                    break;
                }
                Action::Rollback => {
                    out.rolled_back_at = Some(look);
                    break;
                }
                Action::Hold | Action::Shift | Action::Graduate | Action::Remove => {
                    weights = decision.weights
                }
            }
        }
        out.moved_during_srm = out
            .srm_at
            .is_some_and(|s| out.promoted_at.is_some_and(|p| p >= s));
        out
    }

    /// `rows` labelled rows of one arm's window.
    fn window(&self, rows: usize, challenger: bool, rng: &mut Xoshiro256PlusPlus) -> Window {
        match self.scenario {
            Scenario::Rmse { ratio } => {
                let champion_var = 1.25;
                let var = if challenger {
                    ratio * ratio * champion_var
                } else {
                    champion_var
                };
                let mut m = LossMoments::default();
                for _ in 0..rows {
                    let e: f64 = rng.sample::<f64, _>(StandardNormal) * var.sqrt();
                    m.push(e * e);
                }
                Window::Losses(m)
            }
            Scenario::Auc { base, gap, .. } => {
                let mu = separation(if challenger { base + gap } else { base });
                let (mut scores, mut labels) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
                for _ in 0..rows {
                    let y = if rng.random::<f64>() < 0.3 { 1.0 } else { 0.0 };
                    scores.push(mu * y + rng.sample::<f64, _>(StandardNormal));
                    labels.push(y);
                }
                Window::Scores(scores, labels)
            }
        }
    }
}

/// The window's two-sample difference and the champion's value; `None` while a side
/// lacks rows.
fn difference(a: &Window, c: &Window) -> Option<(TwoSampleDifference, f64)> {
    match (a, c) {
        (Window::Losses(a), Window::Losses(c)) => {
            Some((welch_difference(a, c, LossStatistic::RootMean)?, a.mean().sqrt()))
        }
        (Window::Scores(sa, la), Window::Scores(sc, lc)) => {
            let a = auc_estimate(sa, la).ok()?;
            let c = auc_estimate(sc, lc).ok()?;
            Some((unpaired_auc_difference(&a, &c), a.auc))
        }
        _ => None,
    }
}

/// Requests per look in the published live figures (all variants together).
pub const LIVE_REQUESTS_PER_LOOK: u64 = 20_000;
/// Share of requests labelled in the published live figures.
pub const LIVE_LABEL_SHARE: f64 = 0.9;

pub(super) fn live(
    scenario: Scenario,
    metric: &str,
    looks: u32,
    skew: f64,
    runs: usize,
    seed: u64,
    threads: usize,
) -> Vec<LiveOutcome> {
    LiveSimulation {
        scenario,
        runs,
        looks,
        requests_per_look: LIVE_REQUESTS_PER_LOOK,
        label_share: LIVE_LABEL_SHARE,
        challenger_skew: skew,
        seed,
        policy: super::figures_policy(metric),
    }
    .run(threads)
}

/// D4–D7 on live traffic, `runs` experiments each: the challenger starts at 10 % of
/// 20,000 requests per look, 90 % labelled, evidence one look late.
///
/// D4: A/A over 20 looks, false promotion ≤ 5 % (the naive repeated test beside it).
/// D5: 5 % lower RMSE, and AUC +0.02, promoted within 14 looks in ≥ 90 %.
/// D6: the challenger receives 8 % instead of 10 %: SRM flagged within 3 looks in ≥ 95 %,
///     never promoted while it stands.
/// D7: A/A without SRM: SRM false alarms over 20 looks ≤ 1 %.
pub fn live_decision_quality(runs: usize, threads: usize) -> Vec<Figure> {
    let auc = |gap: f64| Scenario::Auc {
        base: 0.80,
        gap,
        shared: 0.0,
    };
    let mut figures = Vec::new();
    let aa = live(
        Scenario::Rmse { ratio: 1.0 },
        "rmse",
        20,
        1.0,
        runs,
        4000,
        threads,
    );
    let aa_auc = live(auc(0.0), "auc", 20, 1.0, runs, 4050, threads);
    for (metric, runs_of) in [("rmse", &aa), ("auc", &aa_auc)] {
        let value = rate(runs_of, 20, |o| o.promoted_at);
        let naive = rate(runs_of, 20, |o| o.naive_win_at);
        let mut d4 = held_figure("live", "D4", metric, value, true, 0.05, format!(
            "A/A, 20 looks: false-promotion rate {value:.4} (target ≤ 0.05); false rollback {:.4}; naive test (uncorrected z at alpha, every look) finds the challenger better in {naive:.4}",
            rate(runs_of, 20, |o| o.rolled_back_at)
        ));
        d4.naive_rate = Some(naive);
        figures.push(d4);
    }
    let srm_alarms = rate(&[aa, aa_auc].concat(), 20, |o| o.srm_at);
    figures.push(held_figure(
        "live",
        "D7",
        "rmse",
        srm_alarms,
        true,
        0.01,
        format!("A/A without SRM, 20 looks: SRM false alarms in {srm_alarms:.4} of runs (target ≤ 0.01)"),
    ));
    for (metric, scenario, text, seed) in [
        ("rmse", Scenario::Rmse { ratio: 0.95 }, "5% lower RMSE", 4100),
        ("auc", auc(0.02), "AUC +0.02 (0.80 → 0.82)", 4200),
    ] {
        let up = live(scenario, metric, 14, 1.0, runs, seed, threads);
        let value = rate(&up, 14, |o| o.promoted_at);
        figures.push(held_figure("live", "D5", metric, value, false, 0.90, format!(
            "challenger {text}: promoted within 14 looks in {value:.4} of runs (target ≥ 0.90); median promotion look {}; wrongly rolled back {:.4}",
            median_look(up.iter().filter_map(|o| o.promoted_at).collect()),
            rate(&up, 14, |o| o.rolled_back_at)
        )));
    }
    let skewed = live(
        Scenario::Rmse { ratio: 0.95 },
        "rmse",
        14,
        0.8,
        runs,
        4300,
        threads,
    );
    let value = rate(&skewed, 3, |o| o.srm_at);
    let moved = skewed.iter().filter(|o| o.moved_during_srm).count();
    let before = rate(&skewed, 14, |o| o.promoted_at);
    figures.push(held_figure("live", "D6", "rmse", value, false, 0.95, format!(
        "challenger gets 8% instead of 10% (and has 5% lower RMSE): SRM flagged within 3 looks in {value:.4} of runs (target ≥ 0.95); promoted while the SRM stood in {moved} runs; promoted at all {before:.4}"
    )));
    if moved > 0 {
        if let Some(f) = figures.last_mut() {
            f.value = 0.0; // a promotion during an SRM fails the figure outright
        }
    }
    figures
}
