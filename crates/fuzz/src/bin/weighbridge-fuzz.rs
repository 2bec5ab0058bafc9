//! `weighbridge-fuzz [SECONDS] [TARGET…]`: runs every target (or the named ones) for a
//! bounded time each and prints executions, corpus size and crashes per target. Exits 1
//! if anything crashed (the inputs are under `fuzz/crashes/<target>/`).

use std::path::PathBuf;
use std::time::Duration;

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let mut names: Vec<String> = args.collect();
    if names.is_empty() {
        names = weighbridge_fuzz::TARGETS
            .iter()
            .map(|(n, _, _)| n.to_string())
            .collect();
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    println!("| target | seconds | executions | exec/s | corpus | crashes |");
    println!("|---|---:|---:|---:|---:|---:|");
    let mut crashed = 0;
    for name in &names {
        let Some(r) = weighbridge_fuzz::fuzz(name, &root, Duration::from_secs_f64(seconds), u64::MAX, 1)
        else {
            eprintln!("no target {name}");
            return std::process::ExitCode::from(2);
        };
        let secs = r.elapsed.as_secs_f64();
        println!(
            "| {} | {secs:.0} | {} | {:.0} | {} | {} |",
            r.target,
            r.executions,
            r.executions as f64 / secs.max(1e-9),
            r.corpus,
            r.crashes
        );
        crashed += r.crashes;
    }
    if crashed > 0 {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}
