//! Decision quality by simulation: prints one line per figure (D1–D3 paired on a test
//! set, D4–D7 on live traffic, D8–D10 in shadow) and exits non-zero if a target is missed.
//!
//!     cargo run --release -p weighbridge-core --example decision_quality [-- RUNS [shadow]]
//!
//! `shadow` prints only D8–D10.
//! RUNS defaults to 10,000 experiments per figure. The figures, the policy they use and
//! the data-generating model are documented in `weighbridge_core::simulation`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and examples may panic

use std::time::Instant;

use weighbridge_core::simulation::{
    decision_quality, figures_policy, live_decision_quality, shadow_decision_quality, LIVE_LABEL_SHARE,
    LIVE_REQUESTS_PER_LOOK, ROWS_PER_LOOK, SHADOW_SAMPLING,
};

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .map_or(10_000, |a| a.parse().expect("RUNS is a number"));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    if std::env::args().nth(2).as_deref() == Some("shadow") {
        let shadow = shadow_decision_quality(runs, threads);
        for f in &shadow {
            println!("{}", f.line);
        }
        println!(
            "elapsed {:.1} s on {threads} threads",
            started.elapsed().as_secs_f64()
        );
        std::process::exit(i32::from(shadow.iter().any(|f| !f.passed())));
    }
    let p = figures_policy("rmse");
    println!(
        "policy: alpha {} (one-sided always-valid mSPRT bounds; mixture scale 5% of the champion's RMSE, 0.02 for AUC), stepwise max step {}, floor {}, min rows {}; {ROWS_PER_LOOK} rows per look; {runs} runs per figure",
        p.alpha, p.max_step, p.floor, p.min_rows
    );
    let mut figures = decision_quality(runs, threads);
    for f in &figures {
        println!("{}", f.line);
    }
    println!(
        "live traffic (source capture): two-sample evidence per look window, pooled; {LIVE_REQUESTS_PER_LOOK} requests per look, challenger from 10%, {:.0}% labelled, a look's labels are the previous window's; SRM: Dirichlet-multinomial mixture, alpha 0.01",
        100.0 * LIVE_LABEL_SHARE
    );
    let live = live_decision_quality(runs, threads);
    for f in &live {
        println!("{}", f.line);
    }
    figures.extend(live);
    println!(
        "shadow (paired on mirrored traffic): 20000 production requests per look, {:.0}% mirrored, 90% of those labelled; graduation is immediate on a significant improvement",
        100.0 * SHADOW_SAMPLING
    );
    let shadow = shadow_decision_quality(runs, threads);
    for f in &shadow {
        println!("{}", f.line);
    }
    figures.extend(shadow);
    println!(
        "elapsed {:.1} s on {threads} threads",
        started.elapsed().as_secs_f64()
    );
    if figures.iter().any(|f| !f.passed()) {
        std::process::exit(1);
    }
}
