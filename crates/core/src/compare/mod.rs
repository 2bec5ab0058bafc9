//! Paired comparisons of two variants scored on the same rows.
//!
//! Every comparison reports `challenger − baseline` in the metric's own units, with a
//! standard error, so the sequential layer and the policy can treat them alike.

mod bootstrap;
mod delong;
mod paired_z;

pub use bootstrap::{
    loss_metric, paired_bootstrap, BootstrapConfig, BootstrapResult, LossStatistic, RowLoss,
};
pub use delong::{delong, DeLongResult};
pub use paired_z::{paired_mean_difference, PairedDifference, PairedLossMoments};
mod report;
pub use report::{
    compare_variants, CompareOptions, ComparisonReport, MetricComparison, VariantMetrics, VariantReport,
};
