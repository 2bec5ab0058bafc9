//! Seeded simulations of scheduled A/B evaluations, to measure how good the policy's
//! decisions are: false promotions in A/A experiments, time to promote a better
//! challenger, time to roll back a worse one.
//!
//! Each run is one experiment: an endpoint with a champion at 0.9 and a challenger at
//! 0.1, and up to `looks` scheduled evaluations, each on `rows_per_look` fresh labelled
//! rows scored by both variants (TargetVariant, so both see the same rows). The evidence
//! accumulates across looks exactly as the evaluator keeps it (paired loss moments for
//! RMSE; per-look DeLong estimates pooled by inverse variance for AUC), the policy
//! decides, and its weights are applied. A run ends at promote or rollback.
//!
//! The data: regression rows are `y = s + ε` with signal `s ~ N(0,1)` and label noise
//! `ε ~ N(0,1)`; a variant predicts `s + δ` with its own error `δ ~ N(0, σ²)`, so its
//! RMSE is `sqrt(1 + σ²)` and both variants share the label noise, as real models do.
//! Classification rows have prevalence 0.3; a variant's score is `μ·y + √ρ·u + √(1−ρ)·e`
//! with shared noise `u` (ρ = 0.8 in the published figures: models retrained on the same
//! data err alike) and its own `e`, so its AUC is `Φ(μ/√2)`.

// Simulated inputs are the program's own, never a user's: their invariants are asserted.
#![allow(clippy::expect_used)]

mod live;
mod shadow;
pub use live::{
    live_decision_quality, LiveOutcome, LiveSimulation, LIVE_LABEL_SHARE, LIVE_REQUESTS_PER_LOOK,
};
pub use shadow::{shadow_decision_quality, ShadowOutcome, ShadowSimulation, SHADOW_SAMPLING};

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::compare::{delong, LossStatistic, PairedLossMoments};
use crate::normal;
use crate::policy::{decide, Action, ChallengerEvidence, Direction, MetricEvidence, PolicyConfig};
use crate::sequential::PooledEstimate;

/// Which metric decides, and how far apart the variants truly are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scenario {
    /// Champion RMSE `sqrt(1.25)`; challenger RMSE = champion × `ratio`.
    Rmse {
        /// Challenger RMSE over champion RMSE.
        ratio: f64,
    },
    /// Champion AUC `base`; challenger AUC `base + gap`; `shared` is ρ, the share of
    /// score noise the two variants have in common.
    Auc {
        /// The champion's AUC.
        base: f64,
        /// The challenger's AUC minus the champion's.
        gap: f64,
        /// ρ: the share of score noise the variants have in common.
        shared: f64,
    },
}

/// How each run of a simulation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunOutcome {
    /// The look (1-based) at which the challenger was promoted, if it was.
    pub promoted_at: Option<u32>,
    /// The look at which it was rolled back, if it was.
    pub rolled_back_at: Option<u32>,
    /// The first look whose verdict was "better", promoted or not.
    pub first_win_at: Option<u32>,
    /// The first look at which a fixed-sample two-sided test at alpha (repeated each
    /// look without correction, the naive way) favoured the challenger.
    pub naive_win_at: Option<u32>,
}

/// Settings of a simulation.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// Which metric and how far apart the variants are.
    pub scenario: Scenario,
    /// Simulated experiments.
    pub runs: usize,
    /// Looks per experiment at most.
    pub looks: u32,
    /// Fresh labelled rows per look.
    pub rows_per_look: usize,
    /// Seeds the runs (run i uses seed + i).
    pub seed: u64,
    /// The policy under test.
    pub policy: PolicyConfig,
}

impl Simulation {
    /// Runs every experiment on `threads` threads; results depend only on the seed.
    pub fn run(&self, threads: usize) -> Vec<RunOutcome> {
        run_each(self.runs, threads, |run| self.one_run(run))
    }

    fn one_run(&self, run: u64) -> RunOutcome {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed ^ run.wrapping_mul(0xA076_1D64_78BD_642F));
        let mut weights: BTreeMap<String, f64> =
            [("champion".to_string(), 0.9), ("challenger".to_string(), 0.1)].into();
        let mut outcome = RunOutcome {
            promoted_at: None,
            rolled_back_at: None,
            first_win_at: None,
            naive_win_at: None,
        };
        let mut paired = PairedEvidence::default();
        let z_naive = normal::quantile(1.0 - self.policy.alpha / 2.0);
        for look in 1..=self.looks {
            let evidence = paired.add_look(self.scenario, self.rows_per_look, self.policy.alpha, &mut rng);
            let improvement = self.policy.direction.improvement(evidence.primary.difference);
            if outcome.naive_win_at.is_none() && improvement > z_naive * evidence.primary.se {
                outcome.naive_win_at = Some(look);
            }
            let decision = decide(&weights, &[evidence], &self.policy).expect("simulated inputs are valid");
            if outcome.first_win_at.is_none()
                && decision.verdicts[0].verdict == crate::policy::Verdict::Better
            {
                outcome.first_win_at = Some(look);
            }
            match decision.action {
                Action::Promote => {
                    outcome.promoted_at = Some(look);
                    break;
                }
                Action::Rollback => {
                    outcome.rolled_back_at = Some(look);
                    break;
                }
                Action::Hold | Action::Shift | Action::Graduate | Action::Remove => {
                    weights = decision.weights
                }
            }
        }
        outcome
    }
}

/// One experiment's paired evidence, accumulated look by look as the evaluator keeps
/// it: paired loss moments for RMSE; per-look DeLong estimates pooled by inverse
/// variance for AUC.
#[derive(Debug, Default)]
struct PairedEvidence {
    moments: PairedLossMoments,
    pooled: PooledEstimate,
    auc_sum: f64,
    looks: u32,
}

impl PairedEvidence {
    /// Adds `rows` fresh rows scored by both variants; answers the evidence so far.
    fn add_look(
        &mut self,
        scenario: Scenario,
        rows: usize,
        alpha: f64,
        rng: &mut Xoshiro256PlusPlus,
    ) -> ChallengerEvidence {
        self.looks += 1;
        match scenario {
            Scenario::Rmse { ratio } => {
                let sigma_a2 = 0.25;
                let sigma_b2 = ratio * ratio * (1.0 + sigma_a2) - 1.0;
                for _ in 0..rows {
                    let noise: f64 = rng.sample(StandardNormal);
                    let da: f64 = rng.sample::<f64, _>(StandardNormal) * sigma_a2.sqrt();
                    let db: f64 = rng.sample::<f64, _>(StandardNormal) * sigma_b2.sqrt();
                    // y − ŷ = ε − δ for each variant.
                    self.moments.push((noise - da).powi(2), (noise - db).powi(2));
                }
                let d = self
                    .moments
                    .difference(LossStatistic::RootMean)
                    .expect("rows > 1");
                let champion_value = self.moments.mean_a().sqrt();
                evidence("rmse", champion_value, d.estimate, d.se, d.rows)
            }
            Scenario::Auc {
                base,
                gap,
                shared: rho,
            } => {
                let (mu_a, mu_b) = (separation(base), separation(base + gap));
                let (mut labels, mut a, mut b) = (
                    Vec::with_capacity(rows),
                    Vec::with_capacity(rows),
                    Vec::with_capacity(rows),
                );
                for _ in 0..rows {
                    let y = if rng.random::<f64>() < 0.3 { 1.0 } else { 0.0 };
                    let u: f64 = rng.sample(StandardNormal);
                    let ea: f64 = rng.sample(StandardNormal);
                    let eb: f64 = rng.sample(StandardNormal);
                    labels.push(y);
                    a.push(mu_a * y + rho.sqrt() * u + (1.0 - rho).sqrt() * ea);
                    b.push(mu_b * y + rho.sqrt() * u + (1.0 - rho).sqrt() * eb);
                }
                let d = delong(&a, &b, &labels, alpha).expect("both classes at 1,000 rows or more");
                self.pooled.add_look(d.difference, d.se, rows as u64);
                self.auc_sum += d.auc_a;
                let (estimate, se) = self.pooled.estimate().expect("one look added");
                evidence(
                    "auc",
                    self.auc_sum / f64::from(self.looks),
                    estimate,
                    se,
                    self.pooled.rows,
                )
            }
        }
    }
}

/// Runs `one(0..runs)` on `threads` threads, in run order: each run depends only on its
/// index (and the simulation's seed), so the results do not depend on the threads.
fn run_each<T: Default + Clone + Send>(runs: usize, threads: usize, one: impl Fn(u64) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, runs.max(1));
    let per = runs.div_ceil(threads).max(1);
    let mut outcomes = vec![T::default(); runs];
    let one = &one;
    std::thread::scope(|scope| {
        for (chunk, out) in outcomes.chunks_mut(per).enumerate() {
            scope.spawn(move || {
                for (i, slot) in out.iter_mut().enumerate() {
                    *slot = one((chunk * per + i) as u64);
                }
            });
        }
    });
    outcomes
}

/// The class separation μ that gives a binormal AUC: AUC = Φ(μ/√2).
fn separation(auc: f64) -> f64 {
    std::f64::consts::SQRT_2 * normal::quantile(auc)
}

fn evidence(metric: &str, champion_value: f64, difference: f64, se: f64, rows: u64) -> ChallengerEvidence {
    ChallengerEvidence {
        variant: "challenger".into(),
        primary: MetricEvidence {
            metric: metric.into(),
            champion_value,
            difference,
            se,
            rows,
        },
        guardrails: vec![],
    }
}

/// Share of runs for which `at` is `Some(look <= within)` (any simulation's outcomes).
pub fn rate<T>(outcomes: &[T], within: u32, at: impl Fn(&T) -> Option<u32>) -> f64 {
    let hits = outcomes
        .iter()
        .filter(|o| at(o).is_some_and(|l| l <= within))
        .count();
    hits as f64 / outcomes.len().max(1) as f64
}

/// One measured figure of decision quality.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// `D1`, `D2`, `D3`, or `info`.
    pub id: &'static str,
    /// The metric that decides (`rmse`, `auc`).
    pub metric: &'static str,
    /// The measured share of runs.
    pub value: f64,
    /// `Some(true)`: value must be ≤ target; `Some(false)`: ≥ target; `None`: informational.
    pub at_most: Option<bool>,
    /// The target the value is held to.
    pub target: f64,
    /// For D1: the rate at which the naive repeated test (uncorrected z at alpha, every
    /// look) finds the challenger better in the same runs.
    pub naive_rate: Option<f64>,
    /// The whole line to print, value included.
    pub line: String,
}

impl Figure {
    /// Whether the figure meets its target (informational figures always do).
    pub fn passed(&self) -> bool {
        match self.at_most {
            Some(true) => self.value <= self.target,
            Some(false) => self.value >= self.target,
            None => true,
        }
    }
}

/// Rows per look in the published figures.
pub const ROWS_PER_LOOK: usize = 2000;
/// The AUC figures tune the mixture to an absolute effect of 0.02.
pub const AUC_EFFECT: f64 = 0.02;
/// Share of score noise two AUC variants have in common in the published figures.
pub const SHARED_NOISE: f64 = 0.8;

/// The policy the figures are measured with: the defaults, the champion pinned, and for
/// AUC the mixture scale set to the effect of interest.
pub fn figures_policy(metric: &str) -> PolicyConfig {
    PolicyConfig {
        primary_metric: metric.into(),
        direction: if metric == "auc" {
            Direction::HigherIsBetter
        } else {
            Direction::LowerIsBetter
        },
        champion: Some("champion".into()),
        absolute_effect: (metric == "auc").then_some(AUC_EFFECT),
        ..PolicyConfig::default()
    }
}

fn simulate(
    scenario: Scenario,
    metric: &str,
    looks: u32,
    runs: usize,
    seed: u64,
    threads: usize,
) -> Vec<RunOutcome> {
    Simulation {
        scenario,
        runs,
        looks,
        rows_per_look: ROWS_PER_LOOK,
        seed,
        policy: figures_policy(metric),
    }
    .run(threads)
}

/// A figure held to a target (`at_most` it, or at least it); `source` names the
/// simulation in the printed line (`live`, `shadow`).
fn held_figure(
    source: &str,
    id: &'static str,
    metric: &'static str,
    value: f64,
    at_most: bool,
    target: f64,
    text: String,
) -> Figure {
    let passed = if at_most { value <= target } else { value >= target };
    Figure {
        id,
        metric,
        value,
        at_most: Some(at_most),
        target,
        naive_rate: None,
        line: format!("{id} {metric} {source}: {text} {}", pass_mark(passed)),
    }
}

/// The median of the looks at which something happened, `-` when it never did.
fn median_look(mut looks: Vec<u32>) -> String {
    looks.sort_unstable();
    looks
        .get(looks.len() / 2)
        .map_or("-".to_string(), |l| l.to_string())
}

fn pass_mark(passed: bool) -> &'static str {
    if passed {
        "PASS"
    } else {
        "FAIL"
    }
}

/// D1–D3 for RMSE and AUC, `runs` experiments each, plus one sensitivity line.
///
/// D1: A/A over 20 looks, false-promotion rate ≤ 5% (the naive repeated test beside it).
/// D2: a better challenger (5% lower RMSE, or AUC +0.02) promoted within 10 looks in ≥ 90%.
/// D3: a worse one (5% higher RMSE, or AUC −0.02) rolled back within 3 looks in ≥ 95%.
pub fn decision_quality(runs: usize, threads: usize) -> Vec<Figure> {
    let auc = |gap: f64| Scenario::Auc {
        base: 0.80,
        gap,
        shared: SHARED_NOISE,
    };
    let cases: [(&'static str, Scenario, Scenario, Scenario, &str, &str); 2] = [
        (
            "rmse",
            Scenario::Rmse { ratio: 1.0 },
            Scenario::Rmse { ratio: 0.95 },
            Scenario::Rmse { ratio: 1.05 },
            "5% lower RMSE",
            "5% higher RMSE",
        ),
        (
            "auc",
            auc(0.0),
            auc(0.02),
            auc(-0.02),
            "AUC +0.02 (0.80 → 0.82)",
            "AUC −0.02 (0.80 → 0.78)",
        ),
    ];
    let mut figures = Vec::new();
    for (i, (metric, same, better, worse, better_text, worse_text)) in cases.into_iter().enumerate() {
        let seed = 1000 * (i as u64 + 1);
        let aa = simulate(same, metric, 20, runs, seed, threads);
        let value = rate(&aa, 20, |o| o.promoted_at);
        let naive = rate(&aa, 20, |o| o.naive_win_at);
        figures.push(Figure {
            id: "D1",
            metric,
            value,
            at_most: Some(true),
            target: 0.05,
            naive_rate: Some(naive),
            line: format!(
                "D1 {metric} A/A, 20 looks: false-promotion rate {value:.4} (target ≤ 0.05) {}; any false 'better' verdict {:.4}; false rollback {:.4}; naive test (uncorrected z at alpha, every look) finds the challenger better in {:.4}",
                pass_mark(value <= 0.05),
                rate(&aa, 20, |o| o.first_win_at),
                rate(&aa, 20, |o| o.rolled_back_at),
                naive,
            ),
        });
        let up = simulate(better, metric, 10, runs, seed + 1, threads);
        let value = rate(&up, 10, |o| o.promoted_at);
        figures.push(Figure {
            id: "D2",
            metric,
            value,
            at_most: Some(false),
            target: 0.90,
            naive_rate: None,
            line: format!(
                "D2 {metric} challenger {better_text}: promoted within 10 looks in {value:.4} of runs (target ≥ 0.90) {}; median promotion look {}; wrongly rolled back {:.4}",
                pass_mark(value >= 0.90),
                median_look(up.iter().filter_map(|o| o.promoted_at).collect()),
                rate(&up, 10, |o| o.rolled_back_at),
            ),
        });
        let down = simulate(worse, metric, 3, runs, seed + 2, threads);
        let value = rate(&down, 3, |o| o.rolled_back_at);
        figures.push(Figure {
            id: "D3",
            metric,
            value,
            at_most: Some(false),
            target: 0.95,
            naive_rate: None,
            line: format!(
                "D3 {metric} challenger {worse_text}: rolled back within 3 looks in {value:.4} of runs (target ≥ 0.95) {}; wrongly promoted {:.4}",
                pass_mark(value >= 0.95),
                rate(&down, 3, |o| o.promoted_at),
            ),
        });
    }
    // Sensitivity, not a target: variants that share less noise are harder to tell apart.
    let harder = simulate(
        Scenario::Auc {
            base: 0.80,
            gap: -0.02,
            shared: 0.7,
        },
        "auc",
        3,
        runs,
        9000,
        threads,
    );
    let value = rate(&harder, 3, |o| o.rolled_back_at);
    figures.push(Figure {
        id: "info",
        metric: "auc",
        value,
        at_most: None,
        target: 0.0,
        naive_rate: None,
        line: format!(
            "info: D3 auc with less shared noise (rho 0.7 instead of {SHARED_NOISE}): rolled back within 3 looks in {value:.4} of runs"
        ),
    });
    figures
}
