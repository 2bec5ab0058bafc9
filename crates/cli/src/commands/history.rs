//! `weighbridge history <execution>`: the execution's events, like the Step Functions
//! Data Science SDK's `execution.list_events()`: id, time, type, state, details.

use std::path::PathBuf;

use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

use weighbridge_local::store::Access;

use super::local_state::Local;
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    pub execution: String,
    /// The events as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value = ".weighbridge")]
    pub state_dir: PathBuf,
}

fn short(details: &serde_json::Value) -> String {
    let text = match details {
        serde_json::Value::Object(m) if m.is_empty() => String::new(),
        other => other.to_string(),
    };
    if text.chars().count() > 90 {
        format!("{}…", text.chars().take(90).collect::<String>())
    } else {
        text
    }
}

pub fn run(args: &HistoryArgs) -> Result<(), CliError> {
    let local = Local::open(&args.state_dir, Access::Read, "history")?;
    let record = local.dir.execution(&local.lock, &args.execution)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&record["events"]).unwrap_or_default()
        );
        return Ok(());
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["id", "timestamp", "type", "state", "details"]);
    for e in record["events"].as_array().into_iter().flatten() {
        t.add_row([
            e["id"].to_string(),
            e["timestamp"].as_str().unwrap_or_default().to_string(),
            e["type"].as_str().unwrap_or_default().to_string(),
            e["state"].as_str().unwrap_or_default().to_string(),
            short(&e["details"]),
        ]);
    }
    println!(
        "{} ({}): {}",
        args.execution,
        record["machine"].as_str().unwrap_or_default(),
        record["status"].as_str().unwrap_or_default()
    );
    println!("{t}");
    if let Some(line) = lineage(&record) {
        println!("{line}");
    }
    Ok(())
}

/// The execution's lineage, when it deployed or registered a model: package ← training
/// job → endpoint variant (the retrain workflow's output), or the approved package an
/// approval event deployed.
fn lineage(record: &serde_json::Value) -> Option<String> {
    let output = &record["output"];
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let package = text(&output["modelPackageArn"])
        .or_else(|| text(&record["input"]["approvedModelPackage"]["modelPackageArn"]))?;
    let job = text(&output["trainingJobName"]).unwrap_or_else(|| "—".into());
    let serving = match (text(&output["endpointName"]), text(&output["variantName"])) {
        (Some(e), Some(v)) => format!("serving as {e}/{v}"),
        _ => format!(
            "not deployed ({})",
            text(&output["outcome"]).unwrap_or_else(|| "failed".into())
        ),
    };
    Some(format!(
        "lineage: model package {package} ← training job {job}; {serving}"
    ))
}
