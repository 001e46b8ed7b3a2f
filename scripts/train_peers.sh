#!/usr/bin/env bash
# The from-scratch comparison on a CPU: one recipe for every architecture, MobileNetV2 1.0 included (no ImageNet
# weights for ResNet18/50 or EfficientNet-B0 here). Random initialisation, distilled from the MobileNetV2 1.0 flower
# teacher, which sees each 112 px crop upsampled to 144 px (where it is accurate), 20 epochs, tested at 128 px.
# --bf16 only where the CPU has native bfloat16 (AVX512-BF16/AMX), and not for EfficientNet-B0 (measured slower in
# bf16 on both such CPUs here). Each command resumes if interrupted (its state lives in MNV2_CACHE/train_state).
# The recipe is mnv2_core.runtime.availability.PEER_RECIPE (a test keeps the two in step).
set -euo pipefail
cd "$(dirname "$0")/.."
T=assets/checkpoints/mobilenet_v2_1.0_flowers102.pt
BF16=$(grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo && echo --bf16 || true)
train() { python -m mnv2_core train --threads "${THREADS:-2}" --recipe scratch --distill-from "$T" \
  --distill-resolution 144 --epochs 20 --warmup-epochs 2 --batch-size 64 --train-resolution 112 --resolution 128 "$@"; }
case "${1:-all}" in
  efficientnet_b0) train --model "$1" ;;
  resnet18|resnet50) train --model "$1" $BF16 ;;
  mobilenet_v2) train --model mobilenet_v2 --width 1.0 $BF16 ;;
  all) for m in resnet18 resnet50 mobilenet_v2 efficientnet_b0; do "$0" "$m"; done ;;
  *) echo "usage: $0 [resnet18|resnet50|mobilenet_v2|efficientnet_b0|all]" >&2; exit 2 ;;
esac
