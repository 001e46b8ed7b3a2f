#!/usr/bin/env bash
# The peers of the comparison on a CPU, with no ImageNet weights for them here: one reduced recipe for each,
# from random initialisation, distilled from the MobileNetV2 1.0 flower teacher, 9 epochs of 112 px crops,
# tested at 128 px (about 45 minutes each on 2 cores). Each command resumes if interrupted.
# ResNet18's fp16 checkpoint (22.5 MB) is over the 15 MB limit for assets/: it stays in MNV2_CACHE, its run is recorded.
set -euo pipefail
cd "$(dirname "$0")/.."
T=assets/checkpoints/mobilenet_v2_1.0_flowers102.pt
train() { python -m mnv2_core train --threads "${THREADS:-2}" --recipe scratch --distill-from "$T" --epochs 9 \
  --warmup-epochs 1 --batch-size 64 --train-resolution 112 --resolution 128 "$@"; }
case "${1:-all}" in
  efficientnet_b0|resnet18|resnet50) train --model "$1" ;;
  all) for m in efficientnet_b0 resnet18; do "$0" "$m"; done ;;
  *) echo "usage: $0 [efficientnet_b0|resnet18|resnet50|all]" >&2; exit 2 ;;
esac
