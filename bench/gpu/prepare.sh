#!/usr/bin/env bash
# Prepares, on a machine with the project installed and Debian's package mirror reachable, everything
# bench/gpu/run.sh needs on a lent GPU machine, which has no network and no Node: bench/gpu/.bundle/
# (ignored by git; carried to the GPU machine with `carry: ["bench/gpu/.bundle"]`), about 45 MB:
#   node.xz             this machine's Node binary (the GPU image has Python and CUDA, no Node)
#   runtime.tar.xz      dist/ and the node_modules the benchmarks load (Linux x64 libraries only)
#   libvulkan1_*.deb    the Vulkan loader (`apt-get download libvulkan1`, about 130 KB); the NVIDIA
#                       driver there brings its own Vulkan driver (ICD)
#   models/             banter-chat, a GPT-2 124M shape and a SmolLM2-135M shape without their weights
#                       (bench/gpu/strip_weights.py): run.sh writes seeded random ones there
# Needs bench/.models/gpt2-small-random and bench/.models/smollm2-135m-random (bench/README.md says how
# to generate them; BANTER_SMOLLM2=DIR points at another copy).
set -euo pipefail
cd "$(dirname "$0")/../.."
bundle=bench/gpu/.bundle
gpt2=bench/.models/gpt2-small-random
smollm2=${BANTER_SMOLLM2:-bench/.models/smollm2-135m-random}
for dir in "$gpt2" "$smollm2"; do
  [ -f "$dir/onnx/model.onnx" ] || { echo "prepare: no $dir (see bench/README.md: generate it first)" >&2; exit 1; }
done
rm -rf "$bundle"
mkdir -p "$bundle/models"
npm run -s build

# The compiled project and the packages the engine, parity, layouts and weights benchmarks load.
ort=node_modules/onnxruntime-node
runtime=(
  dist
  "$ort/package.json" "$ort/dist" "$ort/bin/napi-v6/linux/x64"
  node_modules/onnxruntime-common
  node_modules/@huggingface/jinja node_modules/@huggingface/tokenizers
  node_modules/@huggingface/transformers/package.json node_modules/@huggingface/transformers/dist/transformers.node.mjs
  # (the .cjs only for require.resolve, which finds the package's version for the results)
  node_modules/@huggingface/transformers/dist/transformers.node.cjs
  # transformers.js imports sharp (images) when it loads.
  node_modules/sharp node_modules/@img/colour node_modules/@img/sharp-linux-x64 node_modules/@img/sharp-libvips-linux-x64
  node_modules/detect-libc node_modules/semver
)
tar -cf - "${runtime[@]}" | xz -T0 -6 >"$bundle/runtime.tar.xz"
xz -T0 -6 -c "$(command -v node)" >"$bundle/node.xz"
(cd "$bundle" && apt-get download -qq libvulkan1)

for dir in models/banter-chat "$gpt2" "$smollm2"; do
  /usr/bin/python3 bench/gpu/strip_weights.py "$dir" "$bundle/models/$(basename "$dir")"
done

du -sh "$bundle"
# What travels to the GPU machine is the working tree (tracked and untracked files git does not
# ignore) plus the bundle, 64 MiB at most.
tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
carried=$(du -sb "$bundle" | cut -f1)
total=$((tree + carried))
echo "travels: working tree $((tree / 1048576)) MiB + bundle $((carried / 1048576)) MiB = $((total / 1048576)) MiB (limit 64 MiB)"
if [ "$total" -gt $((64 * 1048576)) ]; then
  echo "prepare: over 64 MiB: run bench/gpu/tree.sh slim before the GPU run (bench/gpu/README.md)" >&2
fi
