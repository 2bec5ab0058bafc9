//! Bad input to the metrics and comparisons is a typed error with a useful message.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use weighbridge_core::compare::{delong, paired_bootstrap, BootstrapConfig, LossStatistic};
use weighbridge_core::metrics::{roc_auc, ClassificationMetrics, RegressionMetrics};
use weighbridge_core::CoreError;

#[test]
fn length_mismatch_names_both_lengths() {
    let err = RegressionMetrics::compute(&[1.0, 2.0], &[1.0]).unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InvalidInput");
    assert!(err.to_string().contains("2 predictions but 1 labels"), "{err}");
}

#[test]
fn nan_names_the_row() {
    let err = RegressionMetrics::compute(&[1.0, f64::NAN], &[1.0, 2.0]).unwrap_err();
    assert!(err.to_string().contains("row 2 is NaN"), "{err}");
}

#[test]
fn empty_input_is_insufficient_data() {
    let err = RegressionMetrics::compute(&[], &[]).unwrap_err();
    assert_eq!(err.name(), "Weighbridge.InsufficientData");
}

#[test]
fn auc_rejects_non_binary_labels_and_a_single_class() {
    let err = roc_auc(&[0.1, 0.2], &[0.0, 2.0]).unwrap_err();
    assert!(err.to_string().contains("labels 0 or 1"), "{err}");
    let err = roc_auc(&[0.1, 0.2], &[1.0, 1.0]).unwrap_err();
    assert!(matches!(err, CoreError::InsufficientData(_)), "{err}");
    // Metrics still report everything but AUC for a single class.
    let m = ClassificationMetrics::compute(&[0.1, 0.9], &[1.0, 1.0], 0.5).unwrap();
    assert_eq!(m.auc, None);
    assert_eq!(m.recall, 0.5);
}

#[test]
fn delong_rejects_bad_alpha_and_mismatched_variants() {
    let y = [0.0, 0.0, 1.0, 1.0];
    let a = [0.1, 0.4, 0.35, 0.8];
    assert!(delong(&a, &a, &y, 0.0).unwrap_err().to_string().contains("alpha"));
    assert!(delong(&a, &a[..3], &y, 0.05)
        .unwrap_err()
        .to_string()
        .contains("same rows"));
    let same = delong(&a, &a, &y, 0.05).unwrap();
    assert_eq!((same.difference, same.z, same.p_value), (0.0, 0.0, 1.0));
}

#[test]
fn bootstrap_rejects_bad_configuration() {
    let config = BootstrapConfig {
        replicates: 1,
        ..BootstrapConfig::default()
    };
    let err = paired_bootstrap(&[1.0, 2.0], &[1.0, 2.0], LossStatistic::Mean, &config).unwrap_err();
    assert!(err.to_string().contains("replicates"), "{err}");
    let err = paired_bootstrap(
        &[1.0],
        &[1.0, 2.0],
        LossStatistic::Mean,
        &BootstrapConfig::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("same rows"), "{err}");
}
