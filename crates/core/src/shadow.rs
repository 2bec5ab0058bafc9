//! The decision for a **shadow variant**: a candidate that answers a mirrored copy of the
//! production variant's requests, its responses captured and never returned.
//!
//! Shadow evidence is paired — both models answered the same request — so it is judged
//! by the same always-valid bounds as a paired test-set comparison (the policy's rules
//! 1–3 with the production variant as champion), and then:
//! - significantly better on the primary metric, non-inferior on every guardrail and on
//!   every operational check (latency, 5xx rate from CloudWatch) → `graduate`;
//! - significantly worse, or a guardrail breached, or an operational check tripped →
//!   `remove` (a slow or failing shadow harms no one yet, but must not graduate);
//! - neither, when the shadow has run its maximum duration → `remove` (say why);
//! - otherwise `hold`: keep mirroring.
//!
//! The returned [`Decision`] keeps the endpoint's weights (a shadow has none to shift):
//! the change itself is a new endpoint config, made by the workflow.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};
use crate::policy::{decide, Action, ChallengerEvidence, Decision, PolicyConfig, Promotion};

/// An operational comparison of the shadow with the production variant (from their
/// CloudWatch metrics over the shadow's hours), with its limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationalCheck {
    /// What is compared: `ModelLatency` (mean, microseconds) or `Invocation5XXErrors`
    /// (errors per invocation).
    pub metric: String,
    /// The production variant's value.
    pub production: f64,
    /// The shadow's value.
    pub shadow: f64,
    /// The largest value the shadow may have.
    pub limit: f64,
    /// Whether the shadow's value is over the limit.
    pub tripped: bool,
}

impl OperationalCheck {
    /// The shadow may be at most `1 + relative` times the production value (latency).
    pub fn relative(metric: &str, production: f64, shadow: f64, relative: f64) -> Self {
        Self::with_limit(metric, production, shadow, production * (1.0 + relative))
    }

    /// The shadow may exceed the production value by at most `margin` (an error rate).
    pub fn absolute(metric: &str, production: f64, shadow: f64, margin: f64) -> Self {
        Self::with_limit(metric, production, shadow, production + margin)
    }

    fn with_limit(metric: &str, production: f64, shadow: f64, limit: f64) -> Self {
        Self {
            metric: metric.to_string(),
            production,
            shadow,
            limit,
            tripped: shadow > limit,
        }
    }
}

/// What is known about a shadow at one look.
#[derive(Debug, Clone, PartialEq)]
pub struct ShadowEvidence<'a> {
    /// The production variant (the champion).
    pub production: &'a str,
    /// The shadow variant.
    pub shadow: &'a str,
    /// The paired evidence so far (`None` before any labelled pair).
    pub paired: Option<&'a ChallengerEvidence>,
    /// The operational checks measured this look.
    pub operational: &'a [OperationalCheck],
    /// Whether the shadow has run its maximum duration.
    pub expired: bool,
}

/// Decides `graduate`, `remove` or `hold` for a shadow. Errors (never panics) on invalid
/// settings or evidence that names another variant.
pub fn decide_shadow(evidence: &ShadowEvidence<'_>, policy: &PolicyConfig) -> Result<Decision> {
    if evidence.production == evidence.shadow {
        return Err(CoreError::invalid(format!(
            "the shadow {:?} cannot be its own production variant",
            evidence.shadow
        )));
    }
    let weights: BTreeMap<String, f64> = [
        (evidence.production.to_string(), 1.0),
        (evidence.shadow.to_string(), 0.0),
    ]
    .into();
    let policy = PolicyConfig {
        champion: Some(evidence.production.to_string()),
        promotion: Promotion::Immediate,
        ..policy.clone()
    };
    let paired: Vec<ChallengerEvidence> = evidence.paired.into_iter().cloned().collect();
    let mut decision = decide(&weights, &paired, &policy)?;
    let tripped: Vec<&OperationalCheck> = evidence.operational.iter().filter(|c| c.tripped).collect();
    let (action, reason) = match decision.action {
        Action::Rollback => (
            Action::Remove,
            format!(
                "remove the shadow {}: {}",
                evidence.shadow,
                strip(&decision.reason)
            ),
        ),
        _ if !tripped.is_empty() => (Action::Remove, tripped_reason(evidence.shadow, &tripped)),
        Action::Promote => (
            Action::Graduate,
            format!(
                "graduate the shadow {}: {}",
                evidence.shadow,
                strip(&decision.reason)
            ),
        ),
        _ if evidence.expired => (
            Action::Remove,
            format!(
                "remove the shadow {}: it ran its maximum duration without a significant improvement ({})",
                evidence.shadow, decision.reason
            ),
        ),
        _ => (Action::Hold, decision.reason.clone()),
    };
    decision.action = action;
    decision.reason = reason;
    decision.winner = (action == Action::Graduate).then(|| evidence.shadow.to_string());
    decision.losers = if action == Action::Remove {
        vec![evidence.shadow.to_string()]
    } else {
        Vec::new()
    };
    decision.weights = decision.previous_weights.clone();
    Ok(decision)
}

/// The policy's own wording after its verb (`promote x: …` → `…`).
fn strip(reason: &str) -> &str {
    reason.split_once(": ").map_or(reason, |(_, rest)| rest)
}

fn tripped_reason(shadow: &str, tripped: &[&OperationalCheck]) -> String {
    let mut reason = format!("remove the shadow {shadow}: operational guardrail tripped: ");
    for c in tripped {
        let _ = write!(
            reason,
            "{} {:.4} over its limit {:.4} (production {:.4}); ",
            c.metric, c.shadow, c.limit, c.production
        );
    }
    reason.trim_end_matches("; ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::MetricEvidence;

    fn paired(difference: f64, se: f64) -> ChallengerEvidence {
        ChallengerEvidence {
            variant: "shadow".into(),
            primary: MetricEvidence {
                metric: "rmse".into(),
                champion_value: 1.0,
                difference,
                se,
                rows: 5000,
            },
            guardrails: vec![],
        }
    }

    fn look(e: Option<&ChallengerEvidence>, ops: &[OperationalCheck], expired: bool) -> Decision {
        let evidence = ShadowEvidence {
            production: "prod",
            shadow: "shadow",
            paired: e,
            operational: ops,
            expired,
        };
        decide_shadow(&evidence, &PolicyConfig::default()).unwrap()
    }

    #[test]
    fn a_clearly_better_shadow_graduates_and_a_worse_one_is_removed() {
        let better = look(Some(&paired(-0.1, 0.005)), &[], false);
        assert_eq!(better.action, Action::Graduate, "{}", better.reason);
        assert_eq!(better.winner.as_deref(), Some("shadow"));
        assert_eq!(
            better.weights, better.previous_weights,
            "a shadow has no weight to shift"
        );
        let worse = look(Some(&paired(0.1, 0.005)), &[], false);
        assert_eq!(worse.action, Action::Remove, "{}", worse.reason);
        assert_eq!(worse.losers, vec!["shadow".to_string()]);
    }

    #[test]
    fn an_inconclusive_shadow_holds_until_it_expires() {
        let open = look(Some(&paired(-0.001, 0.05)), &[], false);
        assert_eq!(open.action, Action::Hold);
        let expired = look(Some(&paired(-0.001, 0.05)), &[], true);
        assert_eq!(expired.action, Action::Remove);
        assert!(expired.reason.contains("maximum duration"), "{}", expired.reason);
        assert_eq!(look(None, &[], false).action, Action::Hold);
    }

    #[test]
    fn a_tripped_operational_check_removes_even_a_better_shadow() {
        let slow = OperationalCheck::relative("ModelLatency", 1000.0, 1500.0, 0.2);
        assert!(slow.tripped);
        let fine = OperationalCheck::absolute("Invocation5XXErrors", 0.0, 0.0005, 0.001);
        assert!(!fine.tripped);
        let d = look(Some(&paired(-0.1, 0.005)), &[slow, fine.clone()], false);
        assert_eq!(d.action, Action::Remove);
        assert!(
            d.reason
                .contains("ModelLatency 1500.0000 over its limit 1200.0000"),
            "{}",
            d.reason
        );
        assert_eq!(
            look(Some(&paired(-0.1, 0.005)), &[fine], false).action,
            Action::Graduate
        );
    }

    #[test]
    fn the_shadow_cannot_be_the_production_variant() {
        let evidence = ShadowEvidence {
            production: "a",
            shadow: "a",
            paired: None,
            operational: &[],
            expired: false,
        };
        assert!(decide_shadow(&evidence, &PolicyConfig::default()).is_err());
    }
}
