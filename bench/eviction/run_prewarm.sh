#!/usr/bin/env bash
# Predictive prewarming (issue 16) in modelmux-sim, written to results/:
#   prewarm_suite.md / .csv    the synthetic traces and the periodic family,
#                              every budget, lru and adaptive-gdsf with and
#                              without prewarming, the offline reference
#   prewarm_azure.md           the same on one day of each family written in
#                              the Azure Functions 2019 format and read back
#                              by the Azure reader (--write-azure, --azure)
#
# usage: bench/eviction/run_prewarm.sh [BUILD_DIR]   (default: build)
# Deterministic (--seed 1). No real Azure trace is used: it cannot be
# downloaded on the build machines; the Azure-format files are synthetic.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build}"
sim="$build/bin/modelmux-sim"
out="$here/results"
[ -x "$sim" ] || { echo "run_prewarm: $sim is not built" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

policies=lru,adaptive-gdsf
suite=("$sim" --seed 1 --traces zipf,diurnal,bursty,scan,periodic --policies "$policies" --prewarm)
echo "${suite[*]}"
"${suite[@]}" --csv "$out/prewarm_suite.csv" --markdown "$out/prewarm_suite.md" > /dev/null

"$sim" --seed 1 --traces zipf,diurnal,bursty,scan,periodic --write-azure "$tmp/day" --write-azure-day 1
{
  echo "# Prewarming on Azure-format days (synthetic; day 1 of each trace family, --seed 1)"
  for f in zipf diurnal bursty scan periodic; do
    echo
    echo "## $f"
    echo
    "$sim" --seed 1 --traces "" --azure "$tmp/day-$f.csv" --policies "$policies" --prewarm |
      cat
  done
} > "$out/prewarm_azure.md"
echo "run_prewarm: wrote $out/prewarm_suite.md, prewarm_suite.csv, prewarm_azure.md"
