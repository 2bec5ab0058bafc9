//! The objectives served, with xgboost's `ProbToMargin` (how `base_score` becomes the
//! starting margin) and `PredTransform` (margin → prediction), in float32 as xgboost
//! computes them (`src/objective/regression_loss.h`, `regression_obj.cu`, `hinge.cu`,
//! `src/common/math.h` of xgboost 1.7).

use crate::LoadError;

/// An objective whose prediction is one value per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// `reg:squarederror` (and 0.90's `reg:linear`), `reg:squaredlogerror`,
    /// `reg:pseudohubererror`, `reg:absoluteerror`: the margin itself.
    Identity(&'static str),
    /// `reg:logistic`, `binary:logistic`: the sigmoid of the margin.
    Logistic(&'static str),
    /// `binary:logitraw`: the margin (base_score taken as a margin).
    LogitRaw,
    /// `count:poisson`, `reg:gamma`, `reg:tweedie`: exp of the margin (a log link).
    Exp(&'static str),
    /// `binary:hinge`: 1 if the margin is positive, else 0.
    Hinge,
}

impl Objective {
    /// By xgboost's name; any other objective is refused by name.
    pub fn from_name(name: &str) -> Result<Self, LoadError> {
        Ok(match name {
            "reg:squarederror" => Self::Identity("reg:squarederror"),
            "reg:linear" => Self::Identity("reg:linear"),
            "reg:squaredlogerror" => Self::Identity("reg:squaredlogerror"),
            "reg:pseudohubererror" => Self::Identity("reg:pseudohubererror"),
            "reg:absoluteerror" => Self::Identity("reg:absoluteerror"),
            "reg:logistic" => Self::Logistic("reg:logistic"),
            "binary:logistic" => Self::Logistic("binary:logistic"),
            "binary:logitraw" => Self::LogitRaw,
            "count:poisson" => Self::Exp("count:poisson"),
            "reg:gamma" => Self::Exp("reg:gamma"),
            "reg:tweedie" => Self::Exp("reg:tweedie"),
            "binary:hinge" => Self::Hinge,
            other => {
                return Err(LoadError::Unsupported(format!(
                    "objective {other:?} is not served (served: reg:squarederror, reg:linear, reg:squaredlogerror, reg:pseudohubererror, reg:absoluteerror, reg:logistic, binary:logistic, binary:logitraw, count:poisson, reg:gamma, reg:tweedie, binary:hinge)"
                )))
            }
        })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Identity(n) | Self::Logistic(n) | Self::Exp(n) => n,
            Self::LogitRaw => "binary:logitraw",
            Self::Hinge => "binary:hinge",
        }
    }

    /// `ProbToMargin`: the starting margin for a `base_score` in prediction space.
    pub fn prob_to_margin(self, base_score: f32) -> f32 {
        match self {
            Self::Identity(_) | Self::LogitRaw | Self::Hinge => base_score,
            Self::Logistic(_) => -(1.0f32 / base_score - 1.0f32).ln(),
            Self::Exp(_) => base_score.ln(),
        }
    }

    /// `PredTransform`: the prediction for a margin.
    pub fn transform(self, margin: f32) -> f32 {
        match self {
            Self::Identity(_) | Self::LogitRaw => margin,
            Self::Logistic(_) => sigmoid(margin),
            Self::Exp(_) => margin.exp(),
            Self::Hinge => {
                if margin > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// xgboost's `common::Sigmoid`: `1 / (exp(min(-x, 88.7)) + 1 + 1e-16)` in float32.
fn sigmoid(x: f32) -> f32 {
    const EPS: f32 = 1e-16;
    let x = (-x).min(88.7f32);
    1.0f32 / (x.exp() + 1.0f32 + EPS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margins_and_transforms_invert_each_other() {
        let logistic = Objective::from_name("binary:logistic").unwrap();
        let m = logistic.prob_to_margin(0.25);
        assert!((logistic.transform(m) - 0.25).abs() < 1e-6);
        assert_eq!(logistic.transform(-1000.0), 1.0 / (88.7f32.exp() + 1.0));
        let poisson = Objective::from_name("count:poisson").unwrap();
        assert!((poisson.transform(poisson.prob_to_margin(3.0)) - 3.0).abs() < 1e-6);
        assert_eq!(
            Objective::from_name("binary:logitraw")
                .unwrap()
                .prob_to_margin(0.5),
            0.5
        );
        assert_eq!(Objective::Hinge.transform(0.0), 0.0);
        let err = Objective::from_name("multi:softprob").unwrap_err();
        assert!(
            err.to_string().contains("\"multi:softprob\" is not served"),
            "{err}"
        );
    }
}
