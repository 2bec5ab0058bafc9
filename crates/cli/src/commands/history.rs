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
    /// A Distributed Map's child execution of it (its name, or its item index when the
    /// execution ran one Map Run): that child's events instead.
    #[arg(long)]
    pub child: Option<String>,
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
    let empty = Vec::new();
    let children = record["children"].as_array().unwrap_or(&empty);
    let (title, events) = match &args.child {
        Some(wanted) => {
            let child = find_child(children, wanted, &args.execution)?;
            let title = format!(
                "{} (child of {}): {}",
                child["executionArn"].as_str().unwrap_or_default(),
                args.execution,
                child["status"].as_str().unwrap_or_default()
            );
            (title, &child["history"])
        }
        None => {
            let title = format!(
                "{} ({}): {}",
                args.execution,
                record["machine"].as_str().unwrap_or_default(),
                record["status"].as_str().unwrap_or_default()
            );
            (title, &record["events"])
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(events).unwrap_or_default());
        return Ok(());
    }
    println!("{title}");
    println!("{}", events_table(events));
    if args.child.is_none() {
        if !children.is_empty() {
            println!(
                "child executions (`weighbridge history {} --child NAME`):",
                args.execution
            );
            println!("{}", children_table(children));
        }
        if let Some(line) = lineage(&record) {
            println!("{line}");
        }
    }
    Ok(())
}

/// Events as a table: id, time, type, state, details (shortened).
fn events_table(events: &serde_json::Value) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["id", "timestamp", "type", "state", "details"]);
    for e in events.as_array().into_iter().flatten() {
        t.add_row([
            e["id"].to_string(),
            e["timestamp"].as_str().unwrap_or_default().to_string(),
            e["type"].as_str().unwrap_or_default().to_string(),
            e["state"].as_str().unwrap_or_default().to_string(),
            short(&e["details"]),
        ]);
    }
    t
}

/// The child executions: name, Map Run, item, status, how many events.
fn children_table(children: &[serde_json::Value]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header(["child", "map run", "item", "status", "events"]);
    for c in children {
        t.add_row([
            c["name"].as_str().unwrap_or_default().to_string(),
            c["mapRunArn"].as_str().unwrap_or_default().to_string(),
            c["index"].to_string(),
            c["status"].as_str().unwrap_or_default().to_string(),
            c["history"].as_array().map_or(0, Vec::len).to_string(),
        ]);
    }
    t
}

/// The child named `wanted` (its name, or its item index if one child has it).
fn find_child<'c>(
    children: &'c [serde_json::Value],
    wanted: &str,
    execution: &str,
) -> Result<&'c serde_json::Value, CliError> {
    let by_name = children.iter().find(|c| c["name"] == wanted);
    let index = wanted.parse::<u64>().ok();
    let by_index: Vec<&serde_json::Value> = children
        .iter()
        .filter(|c| index.is_some() && c["index"].as_u64() == index)
        .collect();
    match (by_name, by_index.as_slice()) {
        (Some(child), _) => Ok(child),
        (None, [child]) => Ok(*child),
        (None, found) => {
            let names: Vec<&str> = children.iter().filter_map(|c| c["name"].as_str()).collect();
            let why = if found.is_empty() { "no" } else { "more than one" };
            Err(CliError::service(
                "ExecutionDoesNotExist",
                format!(
                    "execution {execution} has {why} child execution {wanted:?}; it has: {}",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            ))
        }
    }
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
