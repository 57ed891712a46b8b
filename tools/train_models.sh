#!/usr/bin/env bash
# Reproduces banter's default dialogue models from ../shared/data: data -> tokenizer -> two models -> export.
# Resumable: rerun after an interruption and each step continues (or is skipped when done).
# Env: DATA (default ../shared/data), PYTHON (default /usr/bin/python3, needs torch and onnx),
#      THREADS (threads per trainer, default 1: the two trainers run side by side),
#      PROFILE (gpu when torch sees CUDA, else cpu): gpu trains the shipped sizes (~6 minutes on one
#      H100), cpu smaller ones that fit about 2 hours on 2 cores.
# Needs WordNet's database (Debian: apt-get install wordnet-base) for the definition dialogues.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA="${DATA:-../shared/data}"
PYTHON="${PYTHON:-/usr/bin/python3}"
THREADS="${THREADS:-1}"
WORK=tools/.work

echo "== 1/4 data: $DATA -> $WORK/data" >&2
python3 tools/data/prepare.py --data "$DATA" --out "$WORK/data"

echo "== 2/4 tokenizer" >&2
if [ ! -f "$WORK/tokenizer.json" ]; then
  python3 tools/tokenizer/train_bpe.py --data "$WORK/data/train.jsonl" --out "$WORK/tokenizer.json" --vocab-size 8000
fi

echo "== 3/4 training (forward and backward side by side; logs in $WORK/*.log)" >&2
train() {
  OMP_NUM_THREADS="$THREADS" "$PYTHON" tools/train/train.py --tokenizer "$WORK/tokenizer.json" --data "$WORK/data" "$@"
}
if [ -z "${PROFILE:-}" ]; then
  PROFILE=$("$PYTHON" -c "import torch; print('gpu' if torch.cuda.is_available() else 'cpu')")
fi
echo "   profile: $PROFILE" >&2
if [ "$PROFILE" = gpu ]; then
  common=(--positions 256 --batch-tokens 32768 --lr 1e-3 --warmup 200 --decay-fraction 0.4 --eval-every 500 --dropout 0.2)
  forward=(--layers 6 --embd 320 --heads 5 --focus-repeat 3 --steps 6000)
  backward=(--layers 4 --embd 256 --heads 4 --steps 1500)
else
  common=(--positions 256)
  forward=(--layers 4 --embd 192 --heads 4 --focus-repeat 3 --steps 1400)
  backward=(--layers 3 --embd 160 --heads 4 --steps 1000)
fi
train --direction forward --work "$WORK/forward" "${common[@]}" "${forward[@]}" \
  2> >(tee -a "$WORK/forward.log" >&2) &
forward_pid=$!
train --direction backward --work "$WORK/backward" "${common[@]}" "${backward[@]}" \
  2> >(tee -a "$WORK/backward.log" >&2) &
backward_pid=$!
wait "$forward_pid"
wait "$backward_pid"

echo "== 4/4 export -> models/" >&2
OMP_NUM_THREADS="$THREADS" "$PYTHON" tools/train/export_models.py --work "$WORK" --out models
