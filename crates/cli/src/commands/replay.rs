//! `weighbridge replay --model NAME=model.tar.gz … --data labelled.csv`: would
//! Weighbridge have promoted this model on this data? The models are deployed as
//! equal-weight variants of a local endpoint, the data cut into daily looks, and the real
//! ab-evaluation state machine decides (see `weighbridge_local::replay`): the looks' table,
//! the decision, and a plot of weights and the metric in the state directory.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use weighbridge_local::demo::DemoSummary;
use weighbridge_local::replay::{replay, ReplayConfig, ReplayModel, ENDPOINT};
use weighbridge_local::store::{Access, StateDir};

use super::local_state::{lock_wait, runtime};
use crate::error::CliError;

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// `NAME=path/to/model.tar.gz`, two or more; the first is the champion.
    #[arg(long = "model", required = true)]
    pub models: Vec<String>,
    /// Labelled rows, label first (CSV, no header).
    #[arg(long)]
    pub data: PathBuf,
    /// Daily looks to cut the data into.
    #[arg(long, default_value_t = 5)]
    pub looks: u32,
    /// The policy's primary metric: rmse, mae, logloss or auc.
    #[arg(long, default_value = "rmse")]
    pub metric: String,
    /// The XGBoost container version the artifacts come from.
    #[arg(long, default_value = "1.7-1")]
    pub xgboost_version: String,
    /// A state directory of its own (replaced), for `status` and `history` afterwards.
    #[arg(long, default_value = ".weighbridge-replay")]
    pub state_dir: PathBuf,
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn models(args: &ReplayArgs) -> Result<Vec<ReplayModel>, CliError> {
    args.models
        .iter()
        .map(|m| {
            let (name, path) = m
                .split_once('=')
                .ok_or_else(|| CliError::Usage(format!("--model {m}: write NAME=path/to/model.tar.gz")))?;
            Ok(ReplayModel {
                name: name.to_string(),
                artifact: read(std::path::Path::new(path))?,
            })
        })
        .collect()
}

pub fn run(args: &ReplayArgs) -> Result<(), CliError> {
    let config = ReplayConfig {
        models: models(args)?,
        data: String::from_utf8(read(&args.data)?)
            .map_err(|_| CliError::Usage(format!("{} is not UTF-8 text", args.data.display())))?,
        looks: args.looks,
        metric: args.metric.clone(),
        xgboost_version: args.xgboost_version.clone(),
    };
    let store = StateDir::new(&args.state_dir);
    let lock = store.lock(Access::Write, "replay", lock_wait())?;
    let backend = weighbridge_local::demo::demo_backend(super::local_state::SEED);
    let runtime = runtime()?;
    let outcome = runtime
        .block_on(replay(&backend, &config))
        .map_err(CliError::Usage)?;
    println!("{}", table(&outcome.looks));
    let last = outcome.looks.last();
    println!(
        "decision: {} after {} looks — {}",
        last.map_or("none", |l| l.action.as_str()),
        outcome.looks.len(),
        last.map_or("", |l| l.reason.as_str())
    );
    let live = runtime
        .block_on(async { weighbridge_tasks::ports::SageMaker::describe_endpoint(&backend, ENDPOINT).await })
        .map(|e| e.variants)
        .unwrap_or_default();
    let summary = DemoSummary {
        retrains: Vec::new(),
        looks: outcome.looks.clone(),
        alarm_rollbacks: Vec::new(),
        registry: Vec::new(),
        final_weights: live
            .iter()
            .map(|v| (v.name.clone(), v.current_weight))
            .collect::<BTreeMap<_, _>>(),
        virtual_hours: 24.0 * outcome.looks.len() as f64,
        executions: outcome.executions.clone(),
    };
    let plot = args.state_dir.join("replay.svg");
    crate::plot::looks(&plot, &summary, &|v: &str| v.to_string())?;
    // A fresh world each time, as the demo's: its executions replace any earlier run's.
    store.save(&lock, &backend)?;
    for e in &outcome.executions {
        store.replace_execution(&lock, &e.name, &e.to_json())?;
    }
    let names: Vec<String> = outcome.executions.iter().map(|e| e.name.clone()).collect();
    store.retain_executions(&lock, &names)?;
    println!("plot: {}", plot.display());
    Ok(())
}

fn table(looks: &[weighbridge_local::demo::LookReport]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "look", "new rows", "variant", "rows", "RMSE", "weight", "decision",
    ]);
    for l in looks {
        for (i, v) in l.variants.iter().enumerate() {
            let first = |text: String| if i == 0 { text } else { String::new() };
            t.add_row([
                first(l.look.to_string()),
                first(l.new_rows.to_string()),
                v.variant.clone(),
                v.rows.to_string(),
                format!("{:.3}", v.rmse),
                format!(
                    "{:.0}%",
                    100.0 * l.weights.get(&v.variant).copied().unwrap_or(0.0)
                ),
                first(l.action.clone()),
            ]);
        }
    }
    t
}
