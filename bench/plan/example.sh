#!/usr/bin/env bash
# The README's worked example of modelmux-plan (issue 16): a day of 1,000
# tenants in the Azure Functions 2019 format, made by modelmux-sim's periodic
# generator (no real trace can be downloaded on the build machines), planned
# for instances with a 2 GiB budget and 2 cores. Writes bench/plan/results/example/
# (plan.md, plan.dat, plan.png). Deterministic.
#
# usage: bench/plan/example.sh [BUILD_DIR]   (default: build)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-build}"
out="$here/results/example"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
"$build/bin/modelmux-sim" --seed 1 --models 1000 --traces periodic --write-azure "$tmp/day" --write-azure-day 1
"$build/bin/modelmux-plan" --azure "$tmp/day-periodic.csv" --budget 2G --cores 2 --out-dir "$out"
rm -f "$out/plan.gnuplot"
