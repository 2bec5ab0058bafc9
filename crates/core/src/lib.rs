//! Weighbridge's pure domain: everything that decides where an endpoint's traffic goes,
//! with no I/O and no AWS types, so it can be proven exact and fast in isolation.
//!
//! - [`metrics`]: streaming regression and classification metrics, tie-aware ROC AUC.
//! - [`compare`]: paired comparisons of two variants scored on the same rows
//!   (DeLong for AUC, Poisson paired bootstrap and paired z for mean-of-loss metrics)
//!   and two-sample ones for live traffic (Welch / delta method, independent DeLong).
//! - [`sequential`]: evidence pooled across scheduled looks with always-valid intervals.
//! - [`policy`]: turns evidence into `hold` / `shift` / `promote` / `rollback` and weights.
//! - [`shadow`]: the decision for a shadow variant: `graduate`, `remove` or keep looking.
//! - [`srm`]: the always-valid sample-ratio-mismatch test across look windows.
//! - [`simulation`]: seeded A/B experiments that measure the policy's decision quality.
//! - [`capture`]: SageMaker Data Capture and ground-truth records (the live evidence).
//! - [`codec`]: the payloads SageMaker containers accept and return.
//! - [`error`]: typed errors with stable names that ASL `Retry`/`Catch` can match.
#![warn(missing_docs)]

pub mod capture;
pub mod codec;
pub mod compare;
pub mod error;
pub mod metrics;
pub mod normal;
pub mod policy;
pub mod sequential;
pub mod shadow;
pub mod simulation;
pub mod srm;

pub use error::{CoreError, Result};
