//! Comparisons of two variants: paired (both scored on the same rows: test sets, shadow
//! traffic) and two-sample (`unpaired`: live A/B traffic, each request to one variant).
//!
//! Every comparison reports `challenger − baseline` in the metric's own units, with a
//! standard error, so the sequential layer and the policy can treat them alike.

mod bootstrap;
mod delong;
mod paired_z;
mod unpaired;

pub use bootstrap::{
    loss_metric, paired_bootstrap, BootstrapConfig, BootstrapResult, LossStatistic, RowLoss,
};
pub use delong::{auc_estimate, delong, DeLongResult};
pub use paired_z::{paired_mean_difference, PairedDifference, PairedLossMoments};
pub use unpaired::{
    unpaired_auc_difference, welch_difference, AucEstimate, LossMoments, TwoSampleDifference,
};
mod report;
pub use report::{
    compare_variants, CompareOptions, ComparisonReport, MetricComparison, VariantMetrics, VariantReport,
};
