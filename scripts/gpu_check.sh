#!/usr/bin/env bash
# On a machine with CUDA: the test suite (GPU tests included), the large-N benchmarks on the GPU
# (including the N=16000 target) and one main job through the CLI, then a compact report.
#
#   scripts/gpu_check.sh                 # everything (a few minutes on a recent GPU)
#   QUICK=1 scripts/gpu_check.sh         # GPU tests + quick benchmark only
#   PYTHON=/path/to/python scripts/gpu_check.sh
#
# Full logs go to $OUT (default: gpu_check_out/); the report is printed at the end.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu_check_out}
if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
elif [ -x .venv/bin/python ] && .venv/bin/python -c "import torch,sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
  PY=.venv/bin/python
else
  PY=python3
fi

if ! $PY -c "import torch,sys; sys.exit(not torch.cuda.is_available())" 2>/dev/null; then
  echo "gpu_check: CUDA is not available to $PY (torch $($PY -c 'import torch; print(torch.__version__)' 2>/dev/null)); nothing to check." >&2
  exit 2
fi
mkdir -p "$OUT"
$PY -c "import bbp_torch" 2>/dev/null || $PY -m pip install -q -e . >"$OUT/install.txt" 2>&1

$PY - >"$OUT/device.txt" 2>&1 <<'EOF'
import torch
p = torch.cuda.get_device_properties(0)
print(f"{p.name}, {p.total_memory / 1e9:.0f} GB, torch {torch.__version__}, CUDA {torch.version.cuda}")
EOF

start=$(date +%s)
$PY -m pytest -q -m gpu -rs >"$OUT/pytest_gpu.txt" 2>&1
gpu_rc=$?
if [ -z "${QUICK:-}" ]; then
  $PY -m pytest -q -p no:cacheprovider >"$OUT/pytest_all.txt" 2>&1
  all_rc=$?
  $PY scripts/bench_large.py --device cuda --big --big-precision both --eigh-full --slq-probes 8 \
    --json "$OUT/bench_large.json" \
    >"$OUT/bench_large.txt" 2>&1
  bench_rc=$?
  $PY -m bbp_torch device=cuda solver=auto problem.N=4000 problem.p=4 problem.alpha=4 \
    data_dtype=float32 logging.progress=false "hydra.run.dir=$OUT/run" >"$OUT/cli.txt" 2>&1
  cli_rc=$?
else
  all_rc=skipped
  $PY scripts/bench_large.py --device cuda --quick --json "$OUT/bench_large.json" \
    >"$OUT/bench_large.txt" 2>&1
  bench_rc=$?
  cli_rc=skipped
fi
end=$(date +%s)

echo "=================== gpu_check report ==================="
echo "device      : $(cat "$OUT/device.txt")"
echo "GPU tests   : rc=$gpu_rc  $(tail -n 1 "$OUT/pytest_gpu.txt")"
[ "$all_rc" != skipped ] && echo "all tests   : rc=$all_rc  $(tail -n 1 "$OUT/pytest_all.txt")"
echo "benchmarks  : rc=$bench_rc"
grep -E "speed-up|eigenvalue difference|subspace overlap|problem generation|peak memory|block steps \(|steps of|products throughout|at other tolerances|tol=1e-06|rel. residual|SLQ density|fitted exponents|eigenthings lanczos|ours \(|batched|FAILED|Error" \
  "$OUT/bench_large.txt" | sed 's/^ */  /'
if [ "$cli_rc" != skipped ]; then
  echo "CLI job     : rc=$cli_rc  $(grep -E "solver.name=auto picked" "$OUT/cli.txt" | head -n 1)"
fi
echo "total       : $((end - start)) s; logs in $OUT/"
[ "$gpu_rc" = 0 ] && [ "$bench_rc" = 0 ]
