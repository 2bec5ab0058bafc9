//! CI's smoke run of every fuzz target: a bounded number of mutated inputs each, no crash.
//! (`scripts/fuzz.sh` runs them for longer.)

use std::path::Path;
use std::time::Duration;

#[test]
fn every_target_survives_a_short_run() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for (name, _, _) in weighbridge_fuzz::TARGETS {
        let report = weighbridge_fuzz::fuzz(name, &root, Duration::from_secs(20), 3000, 7)
            .unwrap_or_else(|| panic!("no target {name}"));
        assert!(report.executions > 100, "{report:?}");
        assert_eq!(
            report.crashes, 0,
            "{name} crashed; inputs under fuzz/crashes/{name}/"
        );
    }
}
