//! `weighbridge demo`: the whole life of a model offline — retraining on uploads, a
//! challenger promoted by scheduled A/B looks, a worse one rolled back — with a spinner
//! per phase, a table per look, a summary and an SVG plot of weights and RMSE. By
//! default the looks decide on live traffic (captured requests, labels a day late, an
//! SRM injected and caught); `--scenario shadow` deploys each candidate as a shadow
//! first (graduated into the A/B, or removed before it serves anyone); `--scenario
//! test-set` re-scores labelled test objects.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};
use indicatif::{ProgressBar, ProgressStyle};
use weighbridge_local::demo::{
    demo_backend, run_demo, AlarmRollbackReport, DemoConfig, DemoSummary, LookReport, Observer,
    RetrainReport, Scenario,
};
use weighbridge_local::store::{Access, StateDir};

use crate::error::CliError;
use crate::plot;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the plot (and the run's state) is written.
    #[arg(long, default_value = ".weighbridge")]
    pub state_dir: PathBuf,
    /// Seed of the generated data and of the routing.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Looks per experiment before giving up on a decision.
    #[arg(long, default_value_t = 12)]
    pub max_looks: u32,
    /// The evidence the looks decide on: the endpoint's live traffic, or a labelled test set.
    #[arg(long, value_enum, default_value_t = DemoScenario::Live)]
    pub scenario: DemoScenario,
}

/// `--scenario`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DemoScenario {
    /// Captured requests joined with labels that arrive a day later.
    Live,
    /// Labelled test objects re-scored on every variant.
    TestSet,
    /// Live traffic, each candidate a shadow first (mirrored requests, paired evidence).
    Shadow,
}

/// Draws a spinner per phase and a line per finished step.
struct Progress {
    spinner: Option<ProgressBar>,
    labels: BTreeMap<String, String>,
}

impl Progress {
    fn finish(&mut self) {
        if let Some(s) = self.spinner.take() {
            s.finish_and_clear();
        }
    }

    fn label(&self, variant: &str) -> String {
        self.labels
            .get(variant)
            .cloned()
            .unwrap_or_else(|| variant.to_string())
    }
}

impl Observer for Progress {
    fn phase(&mut self, what: &str) {
        self.finish();
        let s = ProgressBar::new_spinner();
        s.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        s.enable_steady_tick(Duration::from_millis(80));
        s.set_message(what.to_string());
        self.spinner = Some(s);
    }

    fn retrained(&mut self, r: &RetrainReport) {
        self.finish();
        if let Some(v) = &r.variant {
            let label = format!("model {}", (b'A' + self.labels.len() as u8) as char);
            self.labels.insert(v.clone(), label);
        }
        let who = r.variant.as_deref().map(|v| self.label(v)).unwrap_or_default();
        println!(
            "✓ retrain {}: {} {who} ({} virtual minutes) — {}",
            r.key, r.outcome, r.virtual_minutes, r.gate
        );
    }

    fn alarm_rolled_back(&mut self, a: &AlarmRollbackReport) {
        self.finish();
        let who = self.label(&a.variant);
        println!(
            "✓ alarm {} → alarm-rollback: {who} out of traffic {} s after its container broke ({} failed requests; the champion answered {} meanwhile) — {}",
            a.alarm,
            (a.out_of_traffic_at - a.fault_at).num_seconds(),
            a.failed_requests,
            a.champion_requests,
            a.outcome
        );
    }

    fn looked(&mut self, l: &LookReport) {
        self.finish();
        let cells: Vec<String> = l
            .variants
            .iter()
            .map(|v| {
                format!(
                    "{} RMSE {} → {:.0}%",
                    self.label(&v.variant),
                    if v.rmse.is_finite() {
                        format!("{:.1}", v.rmse)
                    } else {
                        "– (labels pending)".into()
                    },
                    100.0 * l.weights.get(&v.variant).copied().unwrap_or(0.0)
                )
            })
            .collect();
        let srm = match l.srm {
            Some((true, _)) => " — SRM flagged",
            _ => "",
        };
        println!(
            "✓ experiment {} look {}: {}{srm} — {}",
            l.experiment,
            l.look,
            l.action,
            cells.join(", ")
        );
    }
}

fn interval(v: Option<(f64, f64)>) -> String {
    v.map(|(a, b)| format!("[{a:.1}, {b:.1}]"))
        .unwrap_or_else(|| "–".into())
}

/// The live looks: requests and labelled rows per variant (unequal: each request reached
/// one variant), label coverage, the SRM verdict, each challenger's improvement with
/// its always-valid bounds, the weights and the decision.
fn live_table(summary: &DemoSummary, progress: &Progress) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "exp",
        "look",
        "day",
        "variant",
        "requests",
        "labelled (new/all)",
        "coverage",
        "RMSE",
        "improvement [95% AV bounds]",
        "weight",
        "SRM",
        "decision",
    ]);
    for l in &summary.looks {
        for (i, v) in l.variants.iter().enumerate() {
            let first = i == 0;
            let only_first = |text: String| if first { text } else { String::new() };
            t.add_row([
                only_first(l.experiment.to_string()),
                only_first(l.look.to_string()),
                only_first(l.at.format("%m-%d").to_string()),
                progress.label(&v.variant),
                v.requests.map_or("–".into(), |r| r.to_string()),
                format!("{}/{}", v.new_rows, v.rows),
                v.coverage.map_or("–".into(), |c| format!("{:.0}%", 100.0 * c)),
                if v.rmse.is_finite() {
                    format!("{:.1}", v.rmse)
                } else {
                    "–".into()
                },
                v.improvement.map_or(String::new(), |(d, lo, hi)| {
                    format!("{d:+.1} [{lo:+.1}, {hi:+.1}]")
                }),
                format!(
                    "{:.0}%",
                    100.0 * l.weights.get(&v.variant).copied().unwrap_or(0.0)
                ),
                only_first(match l.srm {
                    Some((true, e)) => format!("FLAGGED (e {e:.1e})"),
                    Some((false, e)) => format!("ok (e {e:.2})"),
                    None => "–".into(),
                }),
                only_first(decision_text(l)),
            ]);
        }
    }
    t
}

/// A look's decision as the tables show it: a shadow's graduation or removal is a new
/// endpoint config the workflow makes after the look; any other decision is the
/// evaluator's, marked when it was not applied.
fn decision_text(l: &LookReport) -> String {
    match (l.action.as_str(), l.applied) {
        ("graduate" | "remove", _) => format!("{} (new config)", l.action),
        (action, true) => action.to_string(),
        (action, false) => format!("{action} (not applied)"),
    }
}

fn look_table(summary: &DemoSummary, progress: &Progress) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED);
    t.set_header([
        "exp",
        "look",
        "day",
        "new rows",
        "variant",
        "rows",
        "RMSE",
        "95% interval",
        "weight",
        "decision",
    ]);
    for l in &summary.looks {
        for (i, v) in l.variants.iter().enumerate() {
            let first = i == 0;
            let only_first = |text: String| if first { text } else { String::new() };
            t.add_row([
                only_first(l.experiment.to_string()),
                only_first(l.look.to_string()),
                only_first(l.at.format("%Y-%m-%d").to_string()),
                only_first(l.new_rows.to_string()),
                progress.label(&v.variant),
                v.rows.to_string(),
                format!("{:.2}", v.rmse),
                interval(v.interval),
                format!(
                    "{:.0}%",
                    100.0 * l.weights.get(&v.variant).copied().unwrap_or(0.0)
                ),
                only_first(decision_text(l)),
            ]);
        }
    }
    t
}

pub fn run(args: &DemoArgs) -> Result<(), CliError> {
    let started = Instant::now();
    let config = DemoConfig {
        seed: args.seed,
        max_looks: args.max_looks,
        scenario: match args.scenario {
            DemoScenario::Live => Scenario::Live,
            DemoScenario::TestSet => Scenario::TestSet,
            DemoScenario::Shadow => Scenario::Shadow,
        },
        ..DemoConfig::default()
    };
    let store = StateDir::new(&args.state_dir);
    let lock = store.lock(Access::Write, "demo", super::local_state::lock_wait())?;
    let backend = demo_backend(args.seed);
    let mut progress = Progress {
        spinner: None,
        labels: BTreeMap::new(),
    };
    let runtime = super::local_state::runtime()?;
    let summary = runtime
        .block_on(run_demo(&backend, &config, &mut progress))
        .map_err(|e| CliError::Execution(format!("the demo failed: {e}")))?;
    progress.finish();

    match config.scenario {
        Scenario::Shadow => {
            println!(
                "\nScheduled looks on live traffic, each candidate a shadow first (shadow looks pair its answers with the production variant's for the same requests; after a graduation the looks are a weighted A/B; RMSE lower is better; improvement = champion − challenger RMSE with always-valid 95% bounds)"
            );
            println!("{}", live_table(&summary, &progress));
        }
        Scenario::Live => {
            println!(
                "\nScheduled A/B looks on live traffic (requests captured in the day before the look; labelled rows joined after their day-long label delay; RMSE lower is better; improvement = champion − challenger RMSE with always-valid 95% bounds; weights after the look)"
            );
            println!("{}", live_table(&summary, &progress));
        }
        Scenario::TestSet => {
            println!(
                "\nScheduled A/B looks (RMSE: lower is better; interval: pointwise 95%; weights after the look)"
            );
            println!("{}", look_table(&summary, &progress));
        }
    }
    let mut s = Table::new();
    s.load_preset(UTF8_FULL_CONDENSED);
    for r in &summary.retrains {
        s.add_row([
            format!("retrain {}", r.key),
            format!(
                "{} {}",
                r.outcome,
                r.variant
                    .as_deref()
                    .map(|v| progress.label(v))
                    .unwrap_or_default()
            ),
        ]);
    }
    for e in [1, 2] {
        let looks: Vec<&LookReport> = summary.looks.iter().filter(|l| l.experiment == e).collect();
        if let Some(last) = looks.last() {
            let held = looks.iter().filter(|l| l.srm.is_some_and(|(f, _)| f)).count();
            let srm = if held > 0 {
                format!(" (held {held} looks by an SRM, caught and acknowledged)")
            } else {
                String::new()
            };
            s.add_row([
                format!("experiment {e}"),
                format!("{} after {} looks{srm}", last.action, looks.len()),
            ]);
        }
    }
    for a in &summary.alarm_rollbacks {
        s.add_row([
            format!("alarm rollback {}", progress.label(&a.variant)),
            format!(
                "{} after {} s: {} (no look needed)",
                a.outcome,
                (a.out_of_traffic_at - a.fault_at).num_seconds(),
                a.alarm
            ),
        ]);
    }
    for r in &summary.registry {
        // The verdict's reason without its "Weighbridge promoted variant … on endpoint …:".
        let why = match r.description.split_once(": ") {
            Some((_, reason)) if r.description.starts_with("Weighbridge ") => reason,
            _ if r.description.is_empty() => "approved by the quality gate",
            _ => r.description.as_str(),
        };
        let why: String = why.chars().take(90).collect();
        s.add_row([
            format!("registry {} ({})", r.package, progress.label(&r.training_job)),
            format!(
                "{}{}: {why}",
                r.approval.as_str(),
                if r.serving_as.is_some() { ", serving" } else { "" }
            ),
        ]);
    }
    let live: Vec<String> = summary
        .final_weights
        .iter()
        .map(|(v, w)| format!("{} ({v}) {:.0}%", progress.label(v), 100.0 * w))
        .collect();
    s.add_row(["endpoint salary now".to_string(), live.join(", ")]);
    s.add_row(["executions".to_string(), summary.executions.len().to_string()]);
    s.add_row([
        "virtual time".to_string(),
        format!("{:.1} days", summary.virtual_hours / 24.0),
    ]);
    s.add_row([
        "wall time".to_string(),
        format!("{:.2} s", started.elapsed().as_secs_f64()),
    ]);
    println!("\nSummary\n{s}");

    // The run's state, for `weighbridge status` and `weighbridge history` (a fresh one:
    // the demo always starts from an empty account). The lock was taken before the run.
    store.save(&lock, &backend)?;
    for e in &summary.executions {
        store.replace_execution(&lock, &e.name, &e.to_json())?;
    }
    let names: Vec<String> = summary.executions.iter().map(|e| e.name.clone()).collect();
    store.retain_executions(&lock, &names)?;
    let path = args.state_dir.join("demo.svg");
    plot::looks(&path, &summary, &|v: &str| progress.label(v))?;
    println!("\nplot: {}", path.display());
    println!(
        "state: {} (try `weighbridge status` and `weighbridge history {}`)",
        args.state_dir.display(),
        summary
            .executions
            .last()
            .map(|e| e.name.as_str())
            .unwrap_or("look-001")
    );
    Ok(())
}
