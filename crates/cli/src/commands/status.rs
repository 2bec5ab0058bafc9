//! `weighbridge status`: endpoints with their variants and weights, the last metrics the
//! evaluator published per variant, training jobs and executions in the state directory.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use weighbridge_asl::interpreter::Clock;

use weighbridge_local::store::Access;

use super::local_state::Local;
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long, default_value = ".weighbridge")]
    pub state_dir: PathBuf,
}

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(header.iter().copied());
    t
}

/// The Model Registry's packages with their lineage: the training job (registration
/// metadata), the variant serving it now (the model's tag), the experiment whose verdict
/// it carries, and the approval with its description.
fn registry_table(b: &weighbridge_local::MemoryBackend) -> Table {
    let serving = b.packages_in_service();
    let mut t = table(&[
        "model package",
        "approval",
        "training job",
        "serving as",
        "experiment",
        "why",
    ]);
    for (arn, p) in b.model_packages() {
        let meta = |k: &str| p.metadata.get(k).cloned().unwrap_or_default();
        let why = p.approval_description.clone().unwrap_or_default();
        t.add_row([
            format!("{}/{}", p.group, p.version),
            p.approval.as_str().to_string(),
            meta("weighbridge:trainingJob"),
            serving
                .get(&arn)
                .map(|(e, v)| format!("{e}/{v}"))
                .unwrap_or_else(|| "—".into()),
            meta("weighbridge:evidence:experimentKey"),
            if why.chars().count() > 70 {
                format!("{}…", why.chars().take(70).collect::<String>())
            } else {
                why
            },
        ]);
    }
    t
}

pub fn run(args: &StatusArgs) -> Result<(), CliError> {
    let local = Local::open(&args.state_dir, Access::Read, "status")?;
    let b = &local.backend;
    println!(
        "state: {} (virtual time {})",
        args.state_dir.display(),
        b.clock().now().format("%Y-%m-%d %H:%M")
    );
    // The latest datapoint per (endpoint, variant, metric).
    let mut last: BTreeMap<(String, String), BTreeMap<String, f64>> = BTreeMap::new();
    for (_, d) in b.metric_data() {
        let dim = |k: &str| {
            d.dimensions
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        last.entry((dim("EndpointName"), dim("VariantName")))
            .or_default()
            .insert(d.name.clone(), d.value);
    }
    let mut endpoints = table(&[
        "endpoint",
        "status",
        "config",
        "variant",
        "weight",
        "last metrics",
    ]);
    for e in b.endpoints() {
        let total: f64 = e.variants.iter().map(|v| v.current_weight).sum();
        for (i, v) in e.variants.iter().enumerate() {
            let metrics = last
                .get(&(e.name.clone(), v.name.clone()))
                .map(|m| {
                    m.iter()
                        .map(|(k, x)| format!("{k} {x:.3}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            endpoints.add_row([
                if i == 0 { e.name.clone() } else { String::new() },
                if i == 0 {
                    format!("{:?}", e.status)
                } else {
                    String::new()
                },
                if i == 0 {
                    e.config_name.clone()
                } else {
                    String::new()
                },
                v.name.clone(),
                format!(
                    "{:.0}%",
                    if total > 0.0 {
                        100.0 * v.current_weight / total
                    } else {
                        0.0
                    }
                ),
                metrics,
            ]);
        }
    }
    println!("{endpoints}");
    let mut jobs = table(&["training job", "status", "metrics"]);
    for j in b.training_jobs() {
        let metrics = j
            .final_metrics
            .iter()
            .filter(|(k, _)| k.starts_with("validation:"))
            .map(|(k, v)| format!("{k} {v:.3}"))
            .collect::<Vec<_>>()
            .join(", ");
        jobs.add_row([
            j.name,
            format!("{:?}", j.status),
            j.failure_reason.unwrap_or(metrics),
        ]);
    }
    println!("{jobs}");
    if !b.model_packages().is_empty() {
        println!("{}", registry_table(b));
    }
    let mut executions = table(&["execution", "state machine", "status"]);
    for name in local.dir.executions()? {
        if let Ok(e) = local.dir.execution(&local.lock, &name) {
            executions.add_row([
                name,
                e["machine"].as_str().unwrap_or_default().to_string(),
                e["status"].as_str().unwrap_or_default().to_string(),
            ]);
        }
    }
    println!("{executions}");
    Ok(())
}
