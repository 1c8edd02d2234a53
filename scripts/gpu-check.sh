#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and CUDA 12: installs ONNX Runtime's CUDA execution provider,
# runs the onnx training bench cases on it, checks that two training steps (SRResNet, SRGAN) and one Set5 evaluation
# agree between CUDA and the CPU, and prints one JSON line. Without a GPU (or when the provider does
# not install) it runs the same checks on the CPU only and says why in the JSON ("cuda": reason).
# That every graph operator has a CUDA kernel is checked without a GPU, against ONNX Runtime's
# kernel list, by test/engines/onnx/cuda-operators.test.ts; this script checks the numbers.
#
#   scripts/gpu-check.sh [--no-install]     (from the sr folder; SR_TS=1 runs the TypeScript sources)
set -uo pipefail
cd "$(dirname "$0")/.."

install=1
[[ "${1:-}" == "--no-install" ]] && install=0
log() { echo "gpu-check: $*" >&2; }

if [[ "${SR_TS:-}" == "1" ]]; then
  run_node() { node -r ts-node/register/transpile-only "src/$1.ts" "${@:2}"; }
else
  run_node() { node "dist/$1.js" "${@:2}"; }
fi

gpu="none"
if command -v nvidia-smi >/dev/null 2>&1; then
  gpu="$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
fi

binding="$(node -p "require('path').join(require('path').dirname(require.resolve('onnxruntime-node/package.json')),'bin','napi-v6',process.platform,process.arch)")"
if [[ $install == 1 && "$gpu" != "none" && ! -f "$binding/libonnxruntime_providers_cuda.so" ]]; then
  log "installing ONNX Runtime's CUDA 12 provider (ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node)"
  ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node >&2 || log "the CUDA provider did not install; checking the CPU path only"
fi
cuda_installed=false
[[ -f "$binding/libonnxruntime_providers_cuda.so" ]] && cuda_installed=true
device=cpu
$cuda_installed && device=cuda

log "bench: onnx training cases on $device"
bench_args=(--json --no-save --no-peer --only srcnn_train_step_ms_onnx,srresnet_train_step_ms_onnx)
[[ $device == cuda ]] && bench_args+=(--cuda)
bench="$(run_node bench/index "${bench_args[@]}" 2>/dev/null | tail -1)"
[[ -z "$bench" ]] && bench='null'

log "an SRResNet training step and an SRGAN adversarial step on the CPU and on $device"
step="$(run_node bench/device-check 2>/dev/null | tail -1)"
[[ -z "$step" ]] && step='null'

set5="../shared/datasets/Set5"
eval_cpu=null
eval_dev=null
if [[ -d "$set5" ]]; then
  log "Set5 x4 evaluation (shipped SRGAN, onnx engine) on the CPU and on $device"
  sr() { if [[ "${SR_TS:-}" == "1" ]]; then SR_TS=1 bin/sr "$@"; else bin/sr "$@"; fi; }
  eval_cpu="$(sr --device cpu eval --dataset "$set5" --model srgan --scale 4 --engine onnx --json 2>/dev/null | tail -1)"
  eval_dev="$(sr --device "$device" eval --dataset "$set5" --model srgan --scale 4 --engine onnx --json 2>/dev/null | tail -1)"
  [[ -z "$eval_cpu" ]] && eval_cpu=null
  [[ -z "$eval_dev" ]] && eval_dev=null
fi

GPU="$gpu" DEVICE="$device" BENCH="$bench" STEP="$step" EVAL_CPU="$eval_cpu" EVAL_DEV="$eval_dev" node -e '
const parse = (s) => { try { return JSON.parse(s); } catch { return null; } };
const bench = parse(process.env.BENCH), step = parse(process.env.STEP);
const cpu = parse(process.env.EVAL_CPU), dev = parse(process.env.EVAL_DEV);
const psnr = (r) => r?.mean?.psnr ?? r?.summary?.mean?.psnr ?? null;
const evalDiff = psnr(cpu) !== null && psnr(dev) !== null ? Math.abs(psnr(cpu) - psnr(dev)) : null;
const agrees = (s) => s.lossRel < 1e-4 && s.weightsMaxRelRms < 1e-4;
const stepAgrees = step?.gan ? agrees(step) && agrees(step.gan) : false;
const onDevice = (s) => process.env.DEVICE !== 'cuda' || s.providers[1] === 'cuda';
const evalAgrees = evalDiff === null ? null : evalDiff < 0.01;
console.log(JSON.stringify({
  gpu: process.env.GPU, device: process.env.DEVICE, cuda: step?.cuda ?? null,
  bench: bench ? Object.fromEntries(Object.entries(bench.results ?? {}).map(([k, v]) => [k, { value: v.value, unit: v.unit, provider: v.extra?.provider ?? null, skipped: v.skipped }])) : null,
  trainingStep: step, set5PsnrCpu: psnr(cpu), set5PsnrDevice: psnr(dev), set5PsnrDiff: evalDiff,
  ok: stepAgrees && onDevice(step) && onDevice(step.gan) && evalAgrees !== false,
}));'
