#!/usr/bin/env bash
# The from-scratch comparison on a CPU: one recipe for every architecture, MobileNetV2 1.0 included (no ImageNet
# weights for ResNet18/50 or EfficientNet-B0 here). Random initialisation, distilled from the MobileNetV2 1.0 flower
# teacher, which sees each 112 px crop upsampled to 144 px (where it is accurate), 20 epochs, tested at 128 px.
# Each step resumes if interrupted (its state lives in MNV2_CACHE/train_state).
# The flags of every step are mnv2_core/models/recipes.py's PEERS table, read here.
set -euo pipefail
cd "$(dirname "$0")/.."
CPU=$(grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && echo --bf16-cpu || true)
STEPS=$(python -m mnv2_core.models.recipes --list peers)
case "${1:-all}" in
  all) for step in $STEPS; do "$0" "$step"; done ;;
  *) FLAGS=$(python -m mnv2_core.models.recipes "$1" $CPU) || { echo "usage: $0 [all|${STEPS// /|}]" >&2; exit 2; }
     python -m mnv2_core train --threads "${THREADS:-2}" $FLAGS ;;
esac
