#!/usr/bin/env bash
# The GPU run, ready for the day a CUDA device is lent (issue 14, item 4).
#
#   bash benchmarks/gpu.sh [MNIST_DIR]          # default: $WEIGHTWISE_MNIST or ../shared/data/mnist
#
# 1. checks that PyTorch sees a CUDA GPU (else: a clear message, exit 2, nothing else runs);
# 2. runs the tests marked `cuda` (pytest -m cuda), which must all pass, none skipped;
# 3. runs both MNIST benchmarks on the CPU (2 threads) and with --device cuda, each writing JSON;
# 4. prints each torch contender's speed-up of the GPU over the CPU (target: a weightwise BP
#    epoch >= 20x faster than on the 2-core CPU).
#
# Environment: EPOCHS (rounds per benchmark, default 5), N_SAMPLES (default 60000),
# OUT (folder for the JSON files, default a fresh temporary folder), PYTHON (default python).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cd "$root"
PYTHON="${PYTHON:-python}"
EPOCHS="${EPOCHS:-5}"
N_SAMPLES="${N_SAMPLES:-60000}"
OUT="${OUT:-$(mktemp -d -t weightwise-gpu.XXXXXX)}"
mnist="${1:-${WEIGHTWISE_MNIST:-$root/../shared/data/mnist}}"
mkdir -p "$OUT"

if ! "$PYTHON" - <<'EOF'
import sys
try:
    import torch
except ImportError:
    sys.exit("gpu.sh: PyTorch is not installed; pip install 'weightwise[torch]' with a CUDA build")
if not torch.cuda.is_available():
    why = "was built without CUDA" if torch.version.cuda is None else "finds no CUDA GPU"
    sys.exit(f"gpu.sh: this PyTorch {torch.__version__} {why}; run this script on a machine "
             "with an NVIDIA GPU and a CUDA build of PyTorch")
print(f"GPU: {torch.cuda.get_device_name(0)}, PyTorch {torch.__version__}, CUDA {torch.version.cuda}")
EOF
then
    echo "gpu.sh: no CUDA device, nothing was run" >&2
    exit 2
fi

echo "== tests marked cuda"
# -rs lists skips: on a GPU machine none of these may be skipped.
"$PYTHON" -m pytest -q -m cuda -rs tests | tee "$OUT/cuda_tests.txt"
if grep -q "SKIPPED" "$OUT/cuda_tests.txt"; then
    echo "gpu.sh: some cuda tests were skipped on a GPU machine (see above)" >&2
    exit 1
fi

for bench in bp rbm; do
    for device in cpu cuda; do
        echo "== ${bench}_mnist.py --device $device"
        "$PYTHON" "benchmarks/${bench}_mnist.py" --mnist "$mnist" --epochs "$EPOCHS" \
            --n-samples "$N_SAMPLES" --threads 2 --device "$device" --json "$OUT/${bench}_${device}.json"
    done
done

echo "== speed-up of the GPU over the 2-thread CPU (median seconds per epoch)"
OUT="$OUT" "$PYTHON" - <<'EOF'
import json, os, sys

out, missed = os.environ["OUT"], False
for bench, target_row in (("bp", "weightwise torch"), ("rbm", "weightwise torch")):
    cpu = json.load(open(f"{out}/{bench}_cpu.json"))["rows"]
    gpu = json.load(open(f"{out}/{bench}_cuda.json"))["rows"]
    for name in gpu:
        if name in cpu:
            speedup = cpu[name]["wall"] / gpu[name]["wall"]
            target = "   (target >= 20x)" if bench == "bp" and name == target_row else ""
            print(f"  {bench:<4} {name:<18} cpu {cpu[name]['wall']:8.3f} s   cuda "
                  f"{gpu[name]['wall']:8.3f} s   {speedup:6.1f}x{target}")
            if target and speedup < 20:
                missed = True
print(f"\nJSON files in {out}")
sys.exit(1 if missed else 0)
EOF
