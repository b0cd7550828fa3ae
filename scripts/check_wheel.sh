#!/usr/bin/env bash
# The installed package, as a user gets it: build the wheel, install it into a fresh virtual
# environment (torch pinned by constraints.txt) and run every console command once from a
# folder outside the repository. Called by .ci/run; needs python3 with venv.
#
#   bash scripts/check_wheel.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
# Built from a copy of what the wheel needs, as in a fresh clone: no build/ or egg-info of an
# earlier build can leak stale files into it, and the checkout is left as it was.
mkdir "$work/src"
cp -r "$repo"/{bbp_torch,conf,pyproject.toml,setup.py,README.md} "$work/src"
find "$work/src" -name __pycache__ -prune -exec rm -r {} +
"$work/venv/bin/pip" wheel --quiet --no-deps --wheel-dir "$work/dist" "$work/src"
"$work/venv/bin/pip" install --quiet -c "$repo/constraints.txt" "$work"/dist/bbp_torch-*.whl
export PATH="$work/venv/bin:$PATH" OMP_NUM_THREADS=1
mkdir "$work/elsewhere" && cd "$work/elsewhere"
set -x
bbp problem.N=30 problem.alpha=2
bbp --help | grep -q "fig1_overlap"  # the presets ship with the package
bbp -m +experiment=fig1_overlap problem.N=20 problem.a=0.7 problem.alpha=1,2 seed=0
bbp-train +experiment=fig9_gd_continuous problem.N=20 train.steps=5
bbp-theory table --a 0.7 --p-star 1 --p 1 2
bbp-collect outputs/multirun/fig1_overlap
bbp-figures --smoke --jobs 1 --only fig1 fig9 --out figures
rm -r figures/runs figures/*.png  # the tables alone redraw them
bbp-figures --smoke --jobs 1 --only fig1 fig9 --out figures --no-run
test -s figures/fig1_overlap.png && test -s figures/fig9_gd_continuous.png
python -c "import bbp_torch as b; print(b.run_study(b.Config(problem=b.ProblemConfig(N=30))).record['status'])"
{ set +x; } 2>/dev/null
echo "check_wheel: every command ran from $(pwd), the package from $work/venv"
