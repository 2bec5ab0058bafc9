//! The weight policy: from the endpoint's current weights and the evidence for each
//! challenger against the champion, decide `hold`, `shift`, `promote` or `rollback` and
//! the new weights.
//!
//! Rules, in order:
//! 1. A challenger with fewer than `min_rows` rows is not judged (`insufficient data`).
//! 2. A challenger that is significantly worse on the primary metric, or worse than a
//!    guardrail's non-inferiority margin, is rolled back to weight 0.
//! 3. A challenger that is significantly better (always-valid interval above 0), by at
//!    least `min_improvement`, and non-inferior on every guardrail, wins. Stepwise, it
//!    takes at most `max_step` of the traffic from the champion per evaluation and is
//!    promoted once the champion would fall to the floor; `Immediate` promotes at once.
//! 4. Otherwise hold.
//!
//! `max_step` bounds every *shift*. Rollback and promotion are terminal actions and are
//! not stepped: a rollback takes the loser to 0 at once (the safe direction), and a
//! promotion retires the champion's remaining share (at most `max_step + floor`).
//!
//! Bounds are the one-sided always-valid confidence sequences of [`crate::sequential`],
//! each at `alpha`, so looking at every scheduled evaluation inflates neither the
//! false-promotion rate nor the false-rollback rate.
//! Whatever happens, the returned weights are finite, ≥ 0, sum to 1, and name exactly
//! the variants passed in: valid for `UpdateEndpointWeightsAndCapacities`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::sequential::always_valid_bounds;

/// Whether larger values of a metric are better (AUC) or worse (RMSE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Larger is better (AUC, accuracy, R²).
    HigherIsBetter,
    /// Smaller is better (RMSE, MAE, log-loss).
    LowerIsBetter,
}

impl Direction {
    /// The usual direction of a metric by name; `None` for names it does not know.
    pub fn of_metric(name: &str) -> Option<Direction> {
        let base = name.rsplit(':').next().unwrap_or(name).to_ascii_lowercase();
        match base.as_str() {
            "auc" | "accuracy" | "precision" | "recall" | "f1" | "r2" => Some(Direction::HigherIsBetter),
            "rmse" | "mse" | "mae" | "mape" | "log_loss" | "logloss" | "error" => {
                Some(Direction::LowerIsBetter)
            }
            _ => None,
        }
    }

    /// Turns a `challenger − champion` difference into an improvement (positive = better).
    pub fn improvement(self, difference: f64) -> f64 {
        match self {
            Direction::HigherIsBetter => difference,
            Direction::LowerIsBetter => -difference,
        }
    }
}

/// A metric that must not get worse by more than `margin` (in the metric's units).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Guardrail {
    /// The guarded metric.
    pub metric: String,
    /// Which way is better.
    pub direction: Direction,
    /// How much worse the challenger may be, in the metric's units.
    pub margin: f64,
}

/// How a winning challenger takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Promotion {
    /// Move at most `max_step` of the traffic per evaluation; promote when the champion
    /// would drop to the floor.
    Stepwise,
    /// Promote the winner as soon as it wins.
    Immediate,
}

/// The policy's settings. `Default` is a conservative starting point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyConfig {
    /// Primary metric name, e.g. `rmse` or `auc`.
    pub primary_metric: String,
    /// Which way the primary metric is better.
    pub direction: Direction,
    /// Bound on the false-promotion rate across all looks.
    pub alpha: f64,
    /// Rows per challenger before it is judged at all.
    pub min_rows: u64,
    /// Smallest improvement (metric units) worth promoting; the point estimate must reach it.
    pub min_improvement: f64,
    /// Metrics that must stay non-inferior.
    pub guardrails: Vec<Guardrail>,
    /// Largest share of traffic moved per evaluation (0..1].
    pub max_step: f64,
    /// Smallest share a live champion keeps during a stepwise shift; at or below it the
    /// challenger is promoted instead.
    pub floor: f64,
    /// How a winner takes over.
    pub promotion: Promotion,
    /// The effect size the sequential test is tuned to detect soonest, as a fraction of
    /// the champion's metric value (0.05 = 5%); see [`crate::sequential`].
    pub relative_effect: f64,
    /// Overrides `relative_effect` with an absolute effect size in metric units.
    pub absolute_effect: Option<f64>,
    /// The champion's variant name; by default the variant with the highest weight.
    /// An experiment that shifts stepwise pins it (the evaluator keeps it in the
    /// experiment record), because a winning challenger holds most of the traffic for a
    /// few looks before it is promoted.
    pub champion: Option<String>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            primary_metric: "rmse".into(),
            direction: Direction::LowerIsBetter,
            alpha: 0.05,
            min_rows: 200,
            min_improvement: 0.0,
            guardrails: Vec::new(),
            max_step: 0.3,
            floor: 0.05,
            promotion: Promotion::Stepwise,
            relative_effect: 0.05,
            absolute_effect: None,
            champion: None,
        }
    }
}

impl PolicyConfig {
    /// Rejects settings that would make a decision meaningless, saying which to fix.
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(CoreError::invalid(msg));
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return bad(format!("policy alpha {} must be between 0 and 1", self.alpha));
        }
        if !(self.max_step > 0.0 && self.max_step <= 1.0) {
            return bad(format!("policy maxStep {} must be in (0, 1]", self.max_step));
        }
        if !(self.floor >= 0.0 && self.floor < 0.5) {
            return bad(format!("policy floor {} must be in [0, 0.5)", self.floor));
        }
        if !(self.min_improvement >= 0.0 && self.min_improvement.is_finite()) {
            return bad(format!(
                "policy minImprovement {} must be ≥ 0",
                self.min_improvement
            ));
        }
        if !(self.relative_effect > 0.0 && self.relative_effect.is_finite()) {
            return bad(format!(
                "policy relativeEffect {} must be > 0",
                self.relative_effect
            ));
        }
        if let Some(e) = self.absolute_effect {
            if !(e > 0.0 && e.is_finite()) {
                return bad(format!("policy absoluteEffect {e} must be > 0"));
            }
        }
        for g in &self.guardrails {
            if !(g.margin >= 0.0 && g.margin.is_finite()) {
                return bad(format!("guardrail {} margin {} must be ≥ 0", g.metric, g.margin));
            }
        }
        Ok(())
    }

    fn tau(&self, champion_value: f64) -> f64 {
        self.absolute_effect
            .unwrap_or_else(|| (self.relative_effect * champion_value.abs()).max(f64::MIN_POSITIVE.sqrt()))
    }
}

/// One metric's comparison of a challenger with the champion, pooled over looks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricEvidence {
    /// The metric.
    pub metric: String,
    /// The champion's value of the metric.
    pub champion_value: f64,
    /// `challenger − champion`.
    pub difference: f64,
    /// Standard error of the difference.
    pub se: f64,
    /// Rows behind the comparison.
    pub rows: u64,
}

/// Everything known about one challenger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengerEvidence {
    /// The challenger's variant.
    pub variant: String,
    /// Evidence on the primary metric.
    pub primary: MetricEvidence,
    /// Evidence on each guardrail.
    #[serde(default)]
    pub guardrails: Vec<MetricEvidence>,
}

/// What to do with the endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Keep the weights.
    Hold,
    /// Move traffic toward the better challenger, by at most a step.
    Shift,
    /// The challenger takes all the traffic.
    Promote,
    /// A worse challenger loses its traffic.
    Rollback,
    /// A shadow variant that proved better on mirrored traffic becomes a production
    /// variant (see [`crate::shadow`]).
    Graduate,
    /// A shadow variant that proved worse, tripped an operational guardrail or ran out
    /// of time is removed from the endpoint.
    Remove,
}

impl Action {
    /// Lower-case name used in reports and by the ASL Choice state.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Hold => "hold",
            Action::Shift => "shift",
            Action::Promote => "promote",
            Action::Rollback => "rollback",
            Action::Graduate => "graduate",
            Action::Remove => "remove",
        }
    }
}

/// The judgement on one challenger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Too few rows to judge.
    InsufficientData,
    /// Significantly better, guardrails held.
    Better,
    /// Significantly worse.
    Worse,
    /// A guardrail metric got worse beyond its margin.
    GuardrailBreached,
    /// Neither better nor worse yet.
    Inconclusive,
}

/// A challenger's verdict with the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengerVerdict {
    /// The challenger's variant.
    pub variant: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Improvement over the champion on the primary metric (positive = better).
    pub improvement: f64,
    /// Always-valid bounds of the improvement, each one-sided at alpha.
    pub interval: (f64, f64),
    /// Rows behind it.
    pub rows: u64,
    /// Why, in words.
    pub reason: String,
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// What to do.
    pub action: Action,
    /// The champion the challengers were measured against.
    pub champion: String,
    /// The promoted challenger, when the action is `promote`.
    pub winner: Option<String>,
    /// The challengers rolled back, when the action is `rollback` (empty otherwise): what
    /// a workflow removes from the endpoint, one by one.
    pub losers: Vec<String>,
    /// Weights before, normalised to sum to 1.
    pub previous_weights: BTreeMap<String, f64>,
    /// Weights to apply, summing to 1.
    pub weights: BTreeMap<String, f64>,
    /// Every challenger's verdict.
    pub verdicts: Vec<ChallengerVerdict>,
    /// Why, in words.
    pub reason: String,
}

/// Decides the endpoint's next weights. Errors (never panics) on invalid weights,
/// unknown variants or settings; then nothing should be changed.
pub fn decide(
    current: &BTreeMap<String, f64>,
    evidence: &[ChallengerEvidence],
    config: &PolicyConfig,
) -> Result<Decision> {
    config.validate()?;
    let previous = normalise(current)?;
    let champion = pick_champion(&previous, config)?;
    for e in evidence {
        if !previous.contains_key(&e.variant) {
            return Err(CoreError::invalid(format!(
                "evidence names variant {:?}, which is not on the endpoint (variants: {})",
                e.variant,
                previous.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        if e.variant == champion {
            return Err(CoreError::invalid(format!(
                "evidence compares the champion {champion:?} with itself; pass challengers only"
            )));
        }
    }
    let verdicts: Vec<ChallengerVerdict> =
        evidence.iter().map(|e| judge(e, config)).collect::<Result<_>>()?;
    let mut weights = previous.clone();
    let losers: Vec<&ChallengerVerdict> = verdicts
        .iter()
        .filter(|v| matches!(v.verdict, Verdict::Worse | Verdict::GuardrailBreached))
        .collect();
    let best = verdicts
        .iter()
        .filter(|v| v.verdict == Verdict::Better)
        .max_by(|a, b| a.improvement.total_cmp(&b.improvement));

    let loser_names: Vec<String> = losers.iter().map(|v| v.variant.clone()).collect();
    let (action, winner, reason) = if !losers.is_empty() {
        for loser in &losers {
            let freed = weights.insert(loser.variant.clone(), 0.0).unwrap_or(0.0);
            *weights.entry(champion.clone()).or_insert(0.0) += freed;
        }
        let names: Vec<&str> = losers.iter().map(|v| v.variant.as_str()).collect();
        let mut reason = format!("roll back {}: ", names.join(", "));
        for v in &losers {
            let _ = write!(reason, "{}; ", v.reason);
        }
        (Action::Rollback, None, reason.trim_end_matches("; ").to_string())
    } else if let Some(best) = best {
        let champion_weight = weights[&champion];
        let step = config.max_step.min(champion_weight);
        if config.promotion == Promotion::Immediate || champion_weight - step <= config.floor + 1e-12 {
            for (name, w) in weights.iter_mut() {
                *w = if *name == best.variant { 1.0 } else { 0.0 };
            }
            let why = if config.promotion == Promotion::Immediate {
                "promotion is immediate".to_string()
            } else {
                format!(
                    "the champion's share {:.3} minus a step of {:.3} reaches the floor {:.3}",
                    champion_weight, step, config.floor
                )
            };
            (
                Action::Promote,
                Some(best.variant.clone()),
                format!("promote {}: {}; {}", best.variant, best.reason, why),
            )
        } else {
            *weights.entry(champion.clone()).or_insert(0.0) -= step;
            *weights.entry(best.variant.clone()).or_insert(0.0) += step;
            (
                Action::Shift,
                None,
                format!(
                    "shift {step:.3} of the traffic from {champion} to {}: {}",
                    best.variant, best.reason
                ),
            )
        }
    } else if verdicts.is_empty() {
        (Action::Hold, None, "hold: no challenger to judge".to_string())
    } else {
        let mut reason = String::from("hold: ");
        for v in &verdicts {
            let _ = write!(reason, "{}: {}; ", v.variant, v.reason);
        }
        (Action::Hold, None, reason.trim_end_matches("; ").to_string())
    };
    Ok(Decision {
        losers: if action == Action::Rollback {
            loser_names
        } else {
            Vec::new()
        },
        action,
        champion,
        winner,
        previous_weights: previous,
        weights: normalise(&weights)?,
        verdicts,
        reason,
    })
}

/// Scales weights to sum to 1, rejecting empty, negative, non-finite or all-zero input.
pub fn normalise(weights: &BTreeMap<String, f64>) -> Result<BTreeMap<String, f64>> {
    if weights.is_empty() {
        return Err(CoreError::invalid(
            "no variants: the endpoint needs at least one production variant",
        ));
    }
    for (name, &w) in weights {
        if !(w.is_finite() && w >= 0.0) {
            return Err(CoreError::invalid(format!(
                "variant {name:?} has weight {w}; weights must be finite and ≥ 0"
            )));
        }
    }
    let total: f64 = weights.values().sum();
    if !(total > 0.0 && total.is_finite()) {
        return Err(CoreError::invalid(
            "all variant weights are zero; at least one must take traffic",
        ));
    }
    Ok(weights.iter().map(|(k, &w)| (k.clone(), w / total)).collect())
}

fn pick_champion(weights: &BTreeMap<String, f64>, config: &PolicyConfig) -> Result<String> {
    if let Some(name) = &config.champion {
        return if weights.contains_key(name) {
            Ok(name.clone())
        } else {
            Err(CoreError::invalid(format!(
                "champion {name:?} is not a variant of the endpoint"
            )))
        };
    }
    default_champion(weights).ok_or_else(|| CoreError::invalid("no variants to choose a champion from"))
}

/// The champion when none is named: the variant with the highest weight, ties going to
/// the first name so the choice is deterministic. `None` for no variants.
pub fn default_champion(weights: &BTreeMap<String, f64>) -> Option<String> {
    let mut best: Option<(&String, f64)> = None;
    for (name, &w) in weights {
        if best.is_none_or(|(_, bw)| w > bw) {
            best = Some((name, w));
        }
    }
    best.map(|(name, _)| name.clone())
}

fn check_evidence(e: &MetricEvidence, variant: &str) -> Result<()> {
    if !(e.difference.is_finite() && e.champion_value.is_finite() && e.se.is_finite() && e.se >= 0.0) {
        return Err(CoreError::invalid(format!(
            "evidence for {variant} on {} must be finite with se ≥ 0 (difference {}, se {}, champion value {})",
            e.metric, e.difference, e.se, e.champion_value
        )));
    }
    Ok(())
}

fn judge(e: &ChallengerEvidence, config: &PolicyConfig) -> Result<ChallengerVerdict> {
    check_evidence(&e.primary, &e.variant)?;
    let p = &e.primary;
    let improvement = config.direction.improvement(p.difference);
    let (lo, hi) = always_valid_bounds(improvement, p.se, config.alpha, config.tau(p.champion_value));
    let level = 100.0 * (1.0 - config.alpha);
    let described = format!(
        "{} {} by {:.4} (always-valid {level:.0}% bounds {:.4}..{:.4}, {} rows)",
        p.metric,
        if improvement >= 0.0 { "better" } else { "worse" },
        improvement.abs(),
        lo,
        hi,
        p.rows
    );
    let verdict_of = |verdict, reason: String| ChallengerVerdict {
        variant: e.variant.clone(),
        verdict,
        improvement,
        interval: (lo, hi),
        rows: p.rows,
        reason,
    };
    if p.rows < config.min_rows {
        return Ok(verdict_of(
            Verdict::InsufficientData,
            format!(
                "{} rows, fewer than the {} needed to judge",
                p.rows, config.min_rows
            ),
        ));
    }
    let mut guardrails_ok = true;
    for guard in &config.guardrails {
        let Some(g) = e.guardrails.iter().find(|g| g.metric == guard.metric) else {
            return Err(CoreError::invalid(format!(
                "guardrail {} has no evidence for {}; score the guardrail metric too",
                guard.metric, e.variant
            )));
        };
        check_evidence(g, &e.variant)?;
        let gi = guard.direction.improvement(g.difference);
        let (glo, ghi) = always_valid_bounds(gi, g.se, config.alpha, config.tau(g.champion_value));
        if ghi < -guard.margin {
            return Ok(verdict_of(
                Verdict::GuardrailBreached,
                format!(
                    "guardrail {} worse by more than its margin {} (bounds {:.4}..{:.4})",
                    guard.metric, guard.margin, glo, ghi
                ),
            ));
        }
        guardrails_ok &= glo > -guard.margin;
    }
    Ok(if hi < 0.0 {
        verdict_of(Verdict::Worse, described)
    } else if lo > 0.0 && improvement >= config.min_improvement && guardrails_ok {
        verdict_of(Verdict::Better, described)
    } else {
        let why = if lo > 0.0 && improvement < config.min_improvement {
            format!("; below the minimum improvement {}", config.min_improvement)
        } else if lo > 0.0 {
            "; a guardrail is not yet shown non-inferior".to_string()
        } else {
            "; not yet significant".to_string()
        };
        verdict_of(Verdict::Inconclusive, described + &why)
    })
}
