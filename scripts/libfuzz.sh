#!/usr/bin/env bash
# Every fuzz target under libFuzzer (cargo +nightly fuzz; needs `cargo install cargo-fuzz`)
# for 30 s each, from fuzz/corpus/<target> (seed it from events/, statemachines/, ...);
# prints executions, coverage and crashes per target.
cd "$(dirname "$0")/../fuzz"
# Seed each corpus once from the repository's samples.
seed() { mkdir -p "corpus/$1"; [ -n "$(ls -A "corpus/$1")" ] || cp "${@:2}" "corpus/$1/" 2>/dev/null || true; }
seed codecs ../examples/compare/*
seed labelled_rows ../examples/compare/*
seed task_inputs ../events/*.json
seed asl ../statemachines/*.json ../crates/asl/tests/conformance/*.json
for t in intrinsics jsonpath state_dir; do mkdir -p "corpus/$t"; done
[ -n "$(ls -A corpus/intrinsics)" ] || printf "States.Format('{} x', \$.a)" > corpus/intrinsics/seed
[ -n "$(ls -A corpus/jsonpath)" ] || printf '$.a.b[1].c' > corpus/jsonpath/seed
[ -n "$(ls -A corpus/state_dir)" ] || printf '{"format":2,"now":"2026-01-01T00:00:00Z","timing_seconds":null,"world":{},"objects":{}}' > corpus/state_dir/seed
echo "| target | seconds | executions | exec/s | coverage (cov) | features (ft) | crashes |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for t in codecs labelled_rows task_inputs asl intrinsics jsonpath state_dir; do
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}" cargo +nightly fuzz run -O $t corpus/$t -- -max_total_time=30 -print_final_stats=1 -rss_limit_mb=4096 > /tmp/libfuzz-$t.log 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' /tmp/libfuzz-$t.log | awk '{print $2}')
  eps=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' /tmp/libfuzz-$t.log | awk '{print $2}')
  cov=$(grep -o 'cov: [0-9]*' /tmp/libfuzz-$t.log | tail -1 | awk '{print $2}')
  ft=$(grep -o 'ft: [0-9]*' /tmp/libfuzz-$t.log | tail -1 | awk '{print $2}')
  crashes=$(ls artifacts/$t 2>/dev/null | grep -c crash)
  echo "| $t | 30 | $execs | $eps | $cov | $ft | $crashes (exit $rc) |"
done
