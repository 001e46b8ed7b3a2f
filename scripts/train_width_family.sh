#!/usr/bin/env bash
# The MobileNetV2 width family as shipped, on a CPU (each step resumes if interrupted; run them in order).
# 1.0: transfer learning from the official TFLite ImageNet weights, then a phone-photo fine-tune at 224 px: the teacher.
# 0.35: transfer learning from the Keras ImageNet 0.35 backbone, distilled from the teacher.
# 0.75/0.5: pruned from the 1.0 (activation-ranked channels + least-squares refit), then distilled from it.
# 1.4: widened from the 1.0 (Net2WiderNet), then distilled from it.
# The flags of every step are mnv2_core/models/recipes.py's FAMILY table, read here.
set -euo pipefail
cd "$(dirname "$0")/.."
CPU=$(grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && echo --bf16-cpu || true)
STEPS=$(python -m mnv2_core.models.recipes --list family)
case "${1:-all}" in
  all) for step in $STEPS; do "$0" "$step"; done ;;
  *) FLAGS=$(python -m mnv2_core.models.recipes "$1" $CPU) || { echo "usage: $0 [all|${STEPS// /|}]" >&2; exit 2; }
     python -m mnv2_core train --threads "${THREADS:-2}" $FLAGS ;;
esac
