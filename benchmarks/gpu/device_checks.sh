#!/usr/bin/env bash
# The issue-13 checks of one GPU session, as one command (docs/md.md, "On a GPU machine").
#
# Run on the device machine from the repository root, with .device_kit carried
# (benchmarks/gpu/prepare_device_kit.py writes it), under the device tool's 600-s limit:
#     bash benchmarks/gpu/device_checks.sh
# Environment: OUT (results folder; the device tool sets it), TOTAL_S (the whole script ends
# within this many seconds; 540), DEVICE (cuda), THROUGHPUT_SIZES ("1 8 64 256"),
# THROUGHPUT_STEPS (30), THROUGHPUT_S (time limit of the throughput rows; 200), GROUP
# (materials per batched MD run; 24), GROUP_S (expected seconds of one group: no group
# starts later than TOTAL_S - GROUP_S; 200), PROTOCOL (cpu: 1000 K first, then 600 K,
# 800 K as the fallback, 2 ps each; paper-reduced needs 4 x 6,000 steps one temperature
# after another, more than one call), MD_ARGS (more md_vs_experiment.py options, e.g.
# "--max-production-steps 5000 --extend-undetermined" in a later session), KIT
# (.device_kit), PY (python3), WORK ($KIT/md_work: documents unpacked there from an earlier
# session's md_docs.tar.gz travel with the kit and are skipped).
# Writes into $OUT: md_throughput.json (rows saved as they finish), md_docs.tar.gz (one
# MDRunDoc JSON per finished material, scored here later by `md_vs_experiment.py
# --report-only`), the logs, nvidia-smi and the package versions.
set -u
KIT=${KIT:-.device_kit}
OUT=${OUT:-/tmp/sse_flows_out}
DEVICE=${DEVICE:-cuda}
PY=${PY:-python3}
TOTAL_S=${TOTAL_S:-540}
GROUP=${GROUP:-24}
GROUP_S=${GROUP_S:-200}
PROTOCOL=${PROTOCOL:-cpu}
MD_ARGS=${MD_ARGS:-}
SIZES=${THROUGHPUT_SIZES:-1 8 64 256}
STEPS=${THROUGHPUT_STEPS:-30}
THROUGHPUT_S=${THROUGHPUT_S:-200}
WORK=${WORK:-$KIT/md_work}
mkdir -p "$OUT"
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/sse_flows_site "$KIT"/wheels/*.whl || { echo "wheel install failed"; exit 1; }
export PYTHONPATH="/tmp/sse_flows_site:$PWD" PYTHONUNBUFFERED=1
echo "wheels installed in $(elapsed) s"
(nvidia-smi || true) > "$OUT/nvidia_smi.txt" 2>&1
"$PY" -c "import torch, sevenn, e3nn, torch_geometric; print('torch', torch.__version__, \
'cuda', torch.cuda.is_available(), 'sevenn', sevenn.__version__, 'e3nn', e3nn.__version__, \
'torch_geometric', torch_geometric.__version__)" 2>&1 | tee "$OUT/versions.txt"

# 1. throughput: batched vs one-by-one (one-by-one on 4 structures: its rate does not depend
#    on n), with the peak GPU memory per atom of each batch (BYTES_PER_ATOM's check)
# shellcheck disable=SC2086  # (word splitting of SIZES and MD_ARGS is wanted)
timeout "$THROUGHPUT_S" "$PY" benchmarks/md_throughput.py --device "$DEVICE" --sizes $SIZES \
    --cells 2 2 2 --steps "$STEPS" --repeats 1 --single-max 4 --label "$DEVICE" \
    --out "$OUT/md_throughput.json" 2>&1 | tee "$OUT/throughput.log"
echo "throughput done at $(elapsed) s"

# 2. MD against experiment: SevenNet on every ordered OBELiX CIF (test split first) until
#    the time is up; finished documents come back
left=$(( TOTAL_S - $(elapsed) - 15 ))
if (( left > GROUP_S )); then
    timeout "$left" "$PY" benchmarks/md_vs_experiment.py --engine sevennet \
        --device "$DEVICE" --all --protocol "$PROTOCOL" --md-only \
        --deadline-s $(( left - GROUP_S )) --group "$GROUP" --raw "$KIT/raw" --work "$WORK" \
        $MD_ARGS 2>&1 | tee "$OUT/md_vs_experiment.log"
else
    echo "no time left for the OBELiX MD ($left s)" | tee "$OUT/md_vs_experiment.log"
fi
tar czf "$OUT/md_docs.tar.gz" -C "$WORK" --exclude runs . 2>/dev/null
echo "all done at $(elapsed) s"
