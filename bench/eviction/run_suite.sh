#!/usr/bin/env bash
# Runs the eviction suite of issue 6 and writes its results:
#   results/eviction_suite.md   every trace x budget x policy, and the targets
#   results/eviction_suite.csv  the same rows as CSV
#   results/miss_ratio.png      miss ratio against budget, one panel per trace
#   results/policy_bench.txt    per-access cost of each policy (Google Benchmark)
#   results/environment.txt     date, machine and the exact commands
#
# usage: bench/eviction/run_suite.sh [BUILD_DIR]   (default: build)
# Needs modelmux-sim and modelmux-eviction-bench built in BUILD_DIR and
# gnuplot (Debian package gnuplot-nox, in scripts/install-deps).
# Deterministic: the traces are seeded (--seed 1); the benchmark timings vary.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build}"
sim="$build/bin/modelmux-sim"
bench="$build/bin/modelmux-eviction-bench"
out="$here/results"
for tool in "$sim" "$bench"; do
  [ -x "$tool" ] || { echo "run_suite: $tool is not built (cmake --build $build --target $(basename "$tool"))" >&2; exit 1; }
done
command -v gnuplot >/dev/null || { echo "run_suite: gnuplot is missing (apt-get install gnuplot-nox)" >&2; exit 1; }
mkdir -p "$out"

sim_cmd=("$sim" --seed 1 --csv "$out/eviction_suite.csv" --markdown "$out/eviction_suite.md")
bench_cmd=("$bench" --benchmark_min_time=0.3)
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr)"
  echo "suite: ${sim_cmd[*]}"
  echo "bench: ${bench_cmd[*]}"
} > "$out/environment.txt"
cat "$out/environment.txt"

start=$(date +%s)
"${sim_cmd[@]}" > /dev/null
echo "run_suite: simulation took $(( $(date +%s) - start )) s"
"${bench_cmd[@]}" | tee "$out/policy_bench.txt"

# One data block per trace: budget %, then the miss ratio of each policy.
policies=$(awk -F, 'NR > 1 && !seen[$4]++ {printf "%s ", $4}' "$out/eviction_suite.csv")
traces=$(awk -F, 'NR > 1 && !seen[$1]++ {printf "%s ", $1}' "$out/eviction_suite.csv")
data="$out/.miss_ratio.dat"
awk -F, -v policies="$policies" -v traces="$traces" '
  NR > 1 {
    r[$1, $2, $4] = $7
    if (!(($1, $2) in seen)) { seen[$1, $2] = 1; budgets[$1] = budgets[$1] " " $2 }
  }
  END {
    np = split(policies, p, " "); nt = split(traces, t, " ")
    for (i = 1; i <= nt; i++) {
      printf "# %s\n", t[i]
      nb = split(budgets[t[i]], b, " ")
      for (j = 1; j <= nb; j++) {
        printf "%g", 100 * b[j]
        for (q = 1; q <= np; q++) printf " %s", r[t[i], b[j], p[q]]
        printf "\n"
      }
      printf "\n\n"
    }
  }' "$out/eviction_suite.csv" > "$data"

ntraces=$(wc -w <<< "$traces")
gnuplot <<GNUPLOT
set terminal pngcairo size 1400,$(( 420 * (ntraces + 1) / 2 )) font "sans,11"
set output "$out/miss_ratio.png"
set multiplot layout $(( (ntraces + 1) / 2 )),2 title "Miss ratio against memory budget (modelmux-sim --seed 1)"
set xlabel "budget (% of all model bytes)"
set ylabel "miss ratio"
set key top right
set grid
set yrange [0:*]
set xtics (5, 10, 25)
policies = "$policies"
traces = "$traces"
do for [i=1:words(traces)] {
  set title word(traces, i)
  plot for [q=1:words(policies)] "$data" index (i-1) using 1:(column(q+1)) with linespoints lw 2 title word(policies, q)
}
unset multiplot
GNUPLOT
rm -f "$data"
echo "run_suite: wrote $out/eviction_suite.md, eviction_suite.csv, miss_ratio.png, policy_bench.txt"
