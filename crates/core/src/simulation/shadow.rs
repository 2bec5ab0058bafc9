//! Seeded simulations of **shadow** experiments: the candidate answers a mirrored copy
//! of `sampling` of the production variant's requests, so every labelled mirrored request
//! is a paired row (both models answered it, one label). Each look: the production
//! variant serves `requests_per_look`, a binomial share of them is mirrored, 90 % of
//! those get a label; the paired evidence accumulates across looks as the evaluator
//! keeps it, and [`crate::shadow::decide_shadow`] decides. A run ends at graduate or
//! remove; it expires (remove) after `max_looks`.
//!
//! The data are the paired simulation's (`super::PairedEvidence`): the two models share
//! the label noise (RMSE) or most of their score noise (AUC), as models retrained on the
//! same data do.

// Simulated inputs are the program's own, never a user's: their invariants are asserted.
#![allow(clippy::expect_used)]

use rand::SeedableRng;
use rand_distr::{Binomial, Distribution};
use rand_xoshiro::Xoshiro256PlusPlus;

use super::live::live;
use super::{figures_policy, held_figure, median_look, rate, Figure, PairedEvidence, Scenario, SHARED_NOISE};
use crate::policy::{Action, PolicyConfig};
use crate::shadow::{decide_shadow, ShadowEvidence};

/// Share of production requests mirrored to the shadow in the published figures.
pub const SHADOW_SAMPLING: f64 = 0.1;
/// Production requests per look in the published figures.
const REQUESTS_PER_LOOK: u64 = 20_000;
/// Share of mirrored requests whose label arrives.
const LABEL_SHARE: f64 = 0.9;

/// Settings of a shadow simulation.
#[derive(Debug, Clone)]
pub struct ShadowSimulation {
    /// Which metric and how far apart the models are.
    pub scenario: Scenario,
    /// Simulated experiments.
    pub runs: usize,
    /// Looks per experiment at most (the shadow's maximum duration).
    pub max_looks: u32,
    /// Production requests per look.
    pub requests_per_look: u64,
    /// Share of them mirrored to the shadow.
    pub sampling: f64,
    /// Seeds the runs.
    pub seed: u64,
    /// The policy under test.
    pub policy: PolicyConfig,
}

/// How one shadow run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShadowOutcome {
    /// The look at which the shadow graduated, if it did.
    pub graduated_at: Option<u32>,
    /// The look at which it was removed as worse (not by expiry), if it was.
    pub removed_at: Option<u32>,
    /// Whether it ran its maximum duration and was removed for that.
    pub expired: bool,
}

impl ShadowSimulation {
    /// Runs every experiment on `threads` threads; results depend only on the seed.
    pub fn run(&self, threads: usize) -> Vec<ShadowOutcome> {
        super::run_each(self.runs, threads, |run| self.one_run(run))
    }

    fn one_run(&self, run: u64) -> ShadowOutcome {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed ^ run.wrapping_mul(0xD1B5_4A32_D192_ED03));
        let mut paired = PairedEvidence::default();
        let mut out = ShadowOutcome::default();
        for look in 1..=self.max_looks {
            let mirrored = Binomial::new(self.requests_per_look, self.sampling)
                .expect("sampling in [0,1]")
                .sample(&mut rng);
            let rows = Binomial::new(mirrored, LABEL_SHARE)
                .expect("share in [0,1]")
                .sample(&mut rng) as usize;
            let evidence = paired.add_look(self.scenario, rows, self.policy.alpha, &mut rng);
            let look_evidence = ShadowEvidence {
                production: "champion",
                shadow: "challenger",
                paired: Some(&evidence),
                operational: &[],
                expired: look == self.max_looks,
            };
            let decision = decide_shadow(&look_evidence, &self.policy).expect("simulated inputs are valid");
            match decision.action {
                Action::Graduate => {
                    out.graduated_at = Some(look);
                    break;
                }
                Action::Remove => {
                    out.expired = decision.verdicts.first().is_none_or(|v| {
                        !matches!(
                            v.verdict,
                            crate::policy::Verdict::Worse | crate::policy::Verdict::GuardrailBreached
                        )
                    });
                    if !out.expired {
                        out.removed_at = Some(look);
                    }
                    break;
                }
                _ => {}
            }
        }
        out
    }
}

fn shadow(
    scenario: Scenario,
    metric: &str,
    max_looks: u32,
    runs: usize,
    seed: u64,
    threads: usize,
) -> Vec<ShadowOutcome> {
    ShadowSimulation {
        scenario,
        runs,
        max_looks,
        requests_per_look: REQUESTS_PER_LOOK,
        sampling: SHADOW_SAMPLING,
        seed,
        policy: figures_policy(metric),
    }
    .run(threads)
}

/// D8–D10 in shadow, `runs` experiments each: 20,000 production requests per look, 10 %
/// mirrored, 90 % of those labelled.
///
/// D8: A/A over 20 looks: false graduation ≤ 5 %.
/// D9: 5 % lower RMSE, and AUC +0.02, graduate within 7 looks in ≥ 90 % — beside it, the
///     looks the unpaired live A/B (challenger at 10 % of the same traffic) needs.
/// D10: 5 % higher RMSE removed within 3 looks in ≥ 95 %.
pub fn shadow_decision_quality(runs: usize, threads: usize) -> Vec<Figure> {
    let auc = |gap: f64| Scenario::Auc {
        base: 0.80,
        gap,
        shared: SHARED_NOISE,
    };
    let mut figures = Vec::new();
    for (metric, same, seed) in [
        ("rmse", Scenario::Rmse { ratio: 1.0 }, 8000),
        ("auc", auc(0.0), 8050),
    ] {
        let aa = shadow(same, metric, 20, runs, seed, threads);
        let value = rate(&aa, 20, |o| o.graduated_at);
        figures.push(held_figure("shadow", "D8", metric, value, true, 0.05, format!(
            "A/A, 10% mirrored, 20 looks: false-graduation rate {value:.4} (target ≤ 0.05); wrongly removed as worse {:.4}",
            rate(&aa, 20, |o| o.removed_at)
        )));
    }
    for (metric, scenario, text, seed) in [
        ("rmse", Scenario::Rmse { ratio: 0.95 }, "5% lower RMSE", 8100),
        ("auc", auc(0.02), "AUC +0.02 (0.80 → 0.82)", 8200),
    ] {
        let up = shadow(scenario, metric, 7, runs, seed, threads);
        let value = rate(&up, 7, |o| o.graduated_at);
        // The same effect in an unpaired live A/B on the same traffic (as D5 runs it).
        let unpaired_scenario = match scenario {
            Scenario::Auc { base, gap, .. } => Scenario::Auc {
                base,
                gap,
                shared: 0.0,
            },
            rmse => rmse,
        };
        let ab = live(unpaired_scenario, metric, 30, 1.0, runs, seed + 50, threads);
        figures.push(held_figure("shadow", "D9", metric, value, false, 0.90, format!(
            "shadow {text}: graduated within 7 looks in {value:.4} of runs (target ≥ 0.90); median graduation look {}; wrongly removed {:.4} | unpaired live A/B, same traffic (challenger at 10%): promoted within 7 looks in {:.4}, median promotion look {}",
            median_look(up.iter().filter_map(|o| o.graduated_at).collect()),
            rate(&up, 7, |o| o.removed_at),
            rate(&ab, 7, |o| o.promoted_at),
            median_look(ab.iter().filter_map(|o| o.promoted_at).collect()),
        )));
    }
    let down = shadow(Scenario::Rmse { ratio: 1.05 }, "rmse", 3, runs, 8300, threads);
    let value = rate(&down, 3, |o| o.removed_at);
    figures.push(held_figure("shadow", "D10", "rmse", value, false, 0.95, format!(
        "shadow 5% higher RMSE: removed within 3 looks in {value:.4} of runs (target ≥ 0.95); wrongly graduated {:.4}",
        rate(&down, 3, |o| o.graduated_at)
    )));
    figures
}
