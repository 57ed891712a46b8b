#!/usr/bin/env bash
# banter on a lent GPU machine (an NVIDIA H200, no network, no Node): one run of at most 8 minutes
# that writes everything to $OUT. Prepared by bench/gpu/prepare.sh; see bench/gpu/README.md.
#   device tool: command `bash bench/gpu/run.sh`, carry ["bench/gpu/.bundle"], timeout_s 540
# Stages, each with its own time limit inside the whole budget (BANTER_GPU_SECONDS, default 470 s),
# so a slow one costs only itself: set-up (Node, runtime, Vulkan loader and the NVIDIA Vulkan driver),
# random weights, CPU-vs-GPU parity (and what `auto` picks), the cache layouts per decode step, then
# the engine benchmark (banter, transformers.js and the floor on webgpu) model by model, the sampling
# scenarios first (1, 16 and 64 candidates), then scoring and beam search.
# BANTER_GPU_QUICK=1 rehearses it (tiny counts, small models) where the "GPU" is Mesa's lavapipe.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
bundle=$root/bench/gpu/.bundle
OUT=${OUT:-$root/bench/gpu/.out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
deadline=$((SECONDS + ${BANTER_GPU_SECONDS:-470}))
quick=${BANTER_GPU_QUICK:-}

# Runs the command "${@:3}" as stage $1 with at most $2 seconds (less if the budget has less left).
stage() {
  local name=$1 limit=$2
  shift 2
  local left=$((deadline - SECONDS))
  if ((left < 15)); then
    echo "== $name: skipped, the budget is spent"
    return 1
  fi
  ((limit > left)) && limit=$left
  echo "== $name (at most ${limit}s, $(date -u +%H:%M:%S))"
  local start=$SECONDS
  timeout -k 5 "$limit" "$@"
  local rc=$?
  echo "== $name: exit $rc after $((SECONDS - start))s"
  return $rc
}

[ -f "$bundle/runtime.tar.xz" ] || { echo "run.sh: no $bundle: run bench/gpu/prepare.sh here first and carry bench/gpu/.bundle"; exit 1; }

# Set-up: Node and the runtime from the bundle (Python, there with PyTorch, unpacks: the image may
# have no xz), the Vulkan loader unless the image has one, the NVIDIA driver's Vulkan driver (ICD).
echo "== setup ($(date -u +%H:%M:%S))"
tools=/tmp/banter-gpu
mkdir -p "$tools/bin"
python3 - "$bundle" "$root" "$tools/bin/node" <<'PY' || exit 1
import lzma, shutil, sys, tarfile
bundle, root, node = sys.argv[1:]
with tarfile.open(f"{bundle}/runtime.tar.xz") as archive:
    archive.extractall(root)
with lzma.open(f"{bundle}/node.xz") as source, open(node, "wb") as target:
    shutil.copyfileobj(source, target)
PY
chmod +x "$tools/bin/node"
[ -n "${BANTER_GPU_SYSTEM_NODE:-}" ] && command -v node >/dev/null || export PATH=$tools/bin:$PATH
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
  for deb in "$bundle"/libvulkan1_*.deb; do dpkg -x "$deb" /; done
  ldconfig
fi
ldconfig -p | grep 'libvulkan.so.1 ' || echo "setup: no Vulkan loader"
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then
    export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
    [ -d /usr/local/nvidia/lib64 ] && export LD_LIBRARY_PATH=/usr/local/nvidia/lib64:${LD_LIBRARY_PATH:-}
    break
  fi
done
echo "node $(node -v) at $(command -v node); Vulkan drivers: ${VK_DRIVER_FILES:-the default list (no NVIDIA ICD found)}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
echo "== setup: done after ${SECONDS}s"
bench=(node --single-threaded-gc dist/bench/main.js)

# Models: the bundle's, with seeded random weights; banter-chat with its own weights where they travelled.
mkdir -p bench/.models
cp -r "$bundle/models/." bench/.models/
chat=$root/models/banter-chat
[ -f "$chat/onnx/model.onnx_data" ] || chat=$root/bench/.models/banter-chat
gpt2=$root/bench/.models/gpt2-small-random
smollm2=$root/bench/.models/smollm2-135m-random
stage weights 60 "${bench[@]}" weights "$gpt2" "$smollm2" $([ "$chat" = "$root/bench/.models/banter-chat" ] && echo "$chat")

if [ -n "$quick" ]; then
  parity_models=$chat,$root/test/fixtures/tiny-llama
  bench_models=("$chat" "$root/test/fixtures/tiny-llama")
  counts=(--runs 1 --warmup 0)
  layout_args=(--model "$root/test/fixtures/tiny-gpt2" --rows 1,4 --steps 4)
else
  parity_models=$chat,$gpt2,$smollm2,$root/test/fixtures/tiny-llama
  bench_models=("$chat" "$gpt2" "$smollm2")
  counts=(--runs 3 --warmup 1)
  layout_args=(--model "$gpt2" --rows 1,16,64 --steps 16)
fi
stage parity 100 "${bench[@]}" parity --device webgpu --models "$parity_models" --out "$OUT/parity.json"
stage layouts 50 "${bench[@]}" layouts --device webgpu "${layout_args[@]}" --out "$OUT/layouts.json"
# One benchmark process per model, so a model that runs out of time leaves the others' results.
for model in "${bench_models[@]}"; do
  name=$(basename "$model")
  stage "bench $name: sampling" 100 "${bench[@]}" engine --device webgpu --same-process --models "$model" \
    --scenarios sample-1x32,sample-16x32,sample-64x32 "${counts[@]}" --out "$OUT/sampling-$name"
done
models_list=$(IFS=,; echo "${bench_models[*]}")
stage "bench: scoring and beam search" 120 "${bench[@]}" engine --device webgpu --same-process --models "$models_list" \
  --scenarios score-16,beam-4x32 "${counts[@]}" --out "$OUT/score-beam"
echo "== done after ${SECONDS}s; files in $OUT:"
find "$OUT" -type f | sort
