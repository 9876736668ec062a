#!/usr/bin/env bash
# The issue-13 checks of one GPU session, as one command (docs/md.md, "On a GPU machine").
#
# Run on the device machine from the repository root, with .device_kit carried
# (benchmarks/gpu/prepare_device_kit.py writes it):
#     bash benchmarks/gpu/device_checks.sh
# Environment: OUT (results folder; the device tool sets it), DEVICE (cuda), MD_BUDGET_S
# (seconds after which the OBELiX MD starts no new group; 330), THROUGHPUT_SIZES
# ("1 8 64 256"), THROUGHPUT_STEPS (50), GROUP (materials per batched MD run; 24),
# PROTOCOL (paper-reduced), KIT (.device_kit), PY (python3), WORK ($KIT/md_work: documents
# unpacked there from an earlier session's md_docs.tar.gz travel with the kit and are skipped).
# Writes into $OUT: md_throughput.json, md_docs.tar.gz (one MDRunDoc JSON per material,
# scored here later by `md_vs_experiment.py --report-only`), the logs and nvidia-smi.
set -u
KIT=${KIT:-.device_kit}
OUT=${OUT:-/tmp/sse_flows_out}
DEVICE=${DEVICE:-cuda}
PY=${PY:-python3}
MD_BUDGET_S=${MD_BUDGET_S:-330}
GROUP=${GROUP:-24}
PROTOCOL=${PROTOCOL:-paper-reduced}
SIZES=${THROUGHPUT_SIZES:-1 8 64 256}
STEPS=${THROUGHPUT_STEPS:-50}
WORK=${WORK:-$KIT/md_work}
mkdir -p "$OUT"
start=$(date +%s)
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/sse_flows_site "$KIT"/wheels/*.whl || { echo "wheel install failed"; exit 1; }
export PYTHONPATH="/tmp/sse_flows_site:$PWD" PYTHONUNBUFFERED=1
echo "wheels installed in $(( $(date +%s) - start )) s"
(nvidia-smi || true) > "$OUT/nvidia_smi.txt" 2>&1
"$PY" -c "import torch, sevenn, e3nn, torch_geometric; print('torch', torch.__version__, \
'cuda', torch.cuda.is_available(), 'sevenn', sevenn.__version__, 'e3nn', e3nn.__version__, \
'torch_geometric', torch_geometric.__version__)" 2>&1 | tee "$OUT/versions.txt"

# 1. throughput: batched vs one-by-one (one-by-one on 4 structures: its rate does not depend
#    on n), with the peak GPU memory per atom of each batch (BYTES_PER_ATOM's check)
# shellcheck disable=SC2086
timeout 300 "$PY" benchmarks/md_throughput.py --device "$DEVICE" --sizes $SIZES \
    --cells 2 2 2 --steps "$STEPS" --repeats 1 --single-max 4 --label "$DEVICE" \
    --out "$OUT/md_throughput.json" 2>&1 | tee "$OUT/throughput.log"
echo "throughput done at $(( $(date +%s) - start )) s"

# 2. MD against experiment: SevenNet on every ordered OBELiX CIF (test split first), the
#    paper's four temperatures, until the budget; finished documents come back
timeout $(( MD_BUDGET_S + 240 )) "$PY" benchmarks/md_vs_experiment.py --engine sevennet \
    --device "$DEVICE" --all --protocol "$PROTOCOL" --md-only --deadline-s "$MD_BUDGET_S" \
    --group "$GROUP" --raw "$KIT/raw" --work "$WORK" 2>&1 | tee "$OUT/md_vs_experiment.log"
tar czf "$OUT/md_docs.tar.gz" -C "$WORK" --exclude runs . 2>/dev/null
echo "all done at $(( $(date +%s) - start )) s"
