#!/usr/bin/env bash
# The MobileNetV2 width family as shipped, on a CPU (each command resumes if interrupted; run them in order).
# 1.0: transfer learning from the official TFLite ImageNet weights, then a phone-photo fine-tune at 224 px.
# 0.75/0.5/0.35: pruned from the 1.0 (activation-ranked channels + least-squares refit), then distilled from it.
# 1.4: widened from the 1.0 (Net2WiderNet), then distilled from it.
# --bf16 autocasts to bfloat16: about 2x faster on CPUs with AMX or AVX512-BF16, slower elsewhere: added only there.
# The epochs and learning rates are mnv2_core.runtime.availability.WIDTH_RECIPES (a test keeps them in step).
set -euo pipefail
cd "$(dirname "$0")/.."
T=assets/checkpoints/mobilenet_v2_1.0_flowers102.pt
BF16=$(grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && echo --bf16 || true)
train() { python -m mnv2_core train --threads "${THREADS:-2}" --augment phone --warmup-epochs 0.3 "$@" $BF16; }
case "${1:-all}" in
  teacher) train --recipe finetune --start-from "$T" --width 1.0 --epochs 5 --lr 1e-4 ;;
  0.75) train --recipe prune --start-from "$T" --width 0.75 --epochs 2 --lr 5e-5 ;;
  0.5) train --recipe prune --start-from "$T" --width 0.5 --epochs 3 --lr 1e-4 ;;
  0.35) train --recipe prune --start-from "$T" --width 0.35 --epochs 5 --lr 2e-4 ;;
  1.4) train --recipe widen --start-from "$T" --width 1.4 --epochs 1 --lr 5e-5 ;;
  all) for w in teacher 0.75 0.5 0.35 1.4; do "$0" "$w"; done ;;
  *) echo "usage: $0 [teacher|0.75|0.5|0.35|1.4|all]" >&2; exit 2 ;;
esac
