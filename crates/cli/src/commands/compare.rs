//! `weighbridge compare`: the offline comparison of variants' predictions.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use weighbridge_core::compare::{
    compare_variants, BootstrapConfig, CompareOptions, ComparisonReport, VariantMetrics,
};
use weighbridge_core::metrics::Task;

use crate::error::CliError;
use crate::input::{read_labels, read_predictions};
use crate::plot;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TaskArg {
    Auto,
    Regression,
    Classification,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Labels: one per line, or a label-first CSV test set.
    #[arg(long)]
    labels: PathBuf,
    /// Prediction files, one per variant; the first is the baseline. CSV (one value per
    /// line or one row), JSON Lines, a JSON array, or {"predictions":[...]}.
    #[arg(required = true, num_args = 1..)]
    predictions: Vec<PathBuf>,
    /// Variant names, in the order of the files (default: the file names).
    #[arg(long = "name")]
    names: Vec<String>,
    /// Regression or binary classification; auto = classification when every label is 0 or 1.
    #[arg(long, value_enum, default_value = "auto")]
    task: TaskArg,
    /// Score threshold for accuracy, precision, recall and F1.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Significance level of the intervals and tests.
    #[arg(long, default_value_t = 0.05)]
    alpha: f64,
    /// Bootstrap replicates (1 to 100000).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    replicates: u32,
    /// Bootstrap seed (same seed, same result).
    #[arg(long, default_value_t = 0x5EED)]
    seed: u64,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// Also draw an SVG: ROC curves (classification) or predicted against actual (regression).
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
}

pub fn run(args: &CompareArgs) -> Result<(), CliError> {
    if !args.names.is_empty() && args.names.len() != args.predictions.len() {
        return Err(CliError::Usage(format!(
            "{} --name values for {} prediction files; give one name per file or none",
            args.names.len(),
            args.predictions.len()
        )));
    }
    let labels = read_labels(&args.labels)?;
    let variants = args
        .predictions
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let name = args.names.get(i).cloned().unwrap_or_else(|| {
                path.file_stem().map_or_else(
                    || format!("variant{}", i + 1),
                    |s| s.to_string_lossy().into_owned(),
                )
            });
            Ok((name, read_predictions(path)?))
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let options = CompareOptions {
        task: match args.task {
            TaskArg::Auto => None,
            TaskArg::Regression => Some(Task::Regression),
            TaskArg::Classification => Some(Task::BinaryClassification),
        },
        threshold: args.threshold,
        alpha: args.alpha,
        bootstrap: BootstrapConfig {
            replicates: args.replicates as usize,
            seed: args.seed,
            alpha: args.alpha,
            threads: 0,
        },
    };
    let report = compare_variants(&labels, &variants, &options).map_err(CliError::core("compare"))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report)
                .map_err(|e| CliError::Usage(format!("the report does not serialise: {e}")))?
        );
    } else {
        print_tables(&report);
    }
    if let Some(path) = &args.plot {
        match report.task {
            Task::BinaryClassification => plot::roc(path, &labels, &variants)?,
            Task::Regression => plot::predicted_vs_actual(path, &labels, &variants)?,
        }
        // On stderr, so `--json` output stays a single JSON document.
        eprintln!("plot written to {}", path.display());
    }
    Ok(())
}

fn fmt(v: f64) -> String {
    format!("{v:.6}")
}

fn print_tables(report: &ComparisonReport) {
    let task = match report.task {
        Task::Regression => "regression",
        Task::BinaryClassification => "binary classification",
    };
    println!(
        "{} rows, {task}, baseline {}",
        report.rows, report.variants[0].name
    );
    let mut metrics = Table::new();
    metrics.load_preset(UTF8_FULL_CONDENSED);
    match &report.variants[0].metrics {
        VariantMetrics::Regression(_) => {
            metrics.set_header([
                "variant",
                "RMSE",
                "MSE",
                "MAE",
                "R²",
                "MAPE",
                "MAPE skipped (y=0)",
            ]);
        }
        VariantMetrics::Classification(m) => {
            metrics.set_header([
                "variant".to_string(),
                "AUC".into(),
                "log-loss".into(),
                format!("accuracy@{}", m.threshold),
                "precision".into(),
                "recall".into(),
                "F1".into(),
                "positives".into(),
            ]);
        }
    }
    for v in &report.variants {
        let row: Vec<String> = match &v.metrics {
            VariantMetrics::Regression(m) => vec![
                v.name.clone(),
                fmt(m.rmse),
                fmt(m.mse),
                fmt(m.mae),
                fmt(m.r2),
                m.mape.map_or("n/a".into(), |x| format!("{:.4}%", 100.0 * x)),
                m.mape_skipped_zero_labels.to_string(),
            ],
            VariantMetrics::Classification(m) => vec![
                v.name.clone(),
                m.auc.map_or("n/a".into(), fmt),
                fmt(m.log_loss),
                fmt(m.accuracy),
                fmt(m.precision),
                fmt(m.recall),
                fmt(m.f1),
                m.positives.to_string(),
            ],
        };
        metrics.add_row(row);
    }
    println!("{metrics}");
    if report.comparisons.is_empty() {
        return;
    }
    let level = format!("{:.0}% CI", 100.0 * (1.0 - report.alpha));
    let mut pairs = Table::new();
    pairs.load_preset(UTF8_FULL_CONDENSED);
    pairs.set_header([
        "challenger − baseline",
        "metric",
        "method",
        "difference",
        "se",
        level.as_str(),
        "p-value",
    ]);
    for c in &report.comparisons {
        pairs.add_row([
            format!("{} − {}", c.challenger, c.baseline),
            c.metric.clone(),
            c.method.clone(),
            format!("{:+.6}", c.difference),
            fmt(c.se),
            format!("[{:+.6}, {:+.6}]", c.ci_low, c.ci_high),
            format!("{:.4}", c.p_value),
        ]);
    }
    println!("{pairs}");
}
