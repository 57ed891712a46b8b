"""Trains one banter dialogue model (forward or backward) from generic dialogue JSONL. Resumable.

Rerunning the same command continues from tools/.work/<name>/checkpoint.pt; the batch order is a
pure function of (seed, step), so a resumed run sees the same data it would have seen.

Usage: OMP_NUM_THREADS=2 /usr/bin/python3 tools/train/train.py --direction forward --work tools/.work/forward
Runs on CUDA when torch sees a GPU (bf16 autocast), else on the CPU.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from typing import List, Tuple

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tokenizer"))
sys.path.insert(0, os.path.join(HERE, "..", "gpt2"))

import model as gpt2_model  # noqa: E402
from bpe_encoder import ByteLevelBPE  # noqa: E402
from model import GPT2Config, GPT2LMHeadModel  # noqa: E402
from sequences import SequenceBuilder  # noqa: E402

# The same tanh-approximated GELU as tools/gpt2/model.py, as one fused kernel: on a small CPU the
# five separate elementwise ops of the written-out formula cost as much as the matrix products.
gpt2_model.gelu_new = lambda x: F.gelu(x, approximate="tanh")

Window = Tuple[List[int], List[bool]]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--direction", choices=("forward", "backward"), required=True)
    p.add_argument("--data", default="tools/.work/data")
    p.add_argument("--tokenizer", default="tools/.work/tokenizer.json")
    p.add_argument("--work", required=True, help="folder for windows, checkpoint and metrics")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--embd", type=int, default=256)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--positions", type=int, default=256)
    p.add_argument("--dropout", type=float, default=0.0, help="0: a run of ~1-2 epochs does not overfit")
    p.add_argument("--focus-repeat", type=int, default=0,
                   help="forward: add each reply that uses its persona or knowledge this many times per epoch in a short window")
    p.add_argument("--device", default="auto", help="auto (cuda when available), cpu or cuda")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch-tokens", type=int, default=4096, help="padded tokens per batch")
    p.add_argument("--lr", type=float, default=1.5e-3)
    p.add_argument("--min-lr-ratio", type=float, default=0.05)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--decay-fraction", type=float, default=0.25, help="final share of steps with a cosine decay")
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--eval-every", type=int, default=200)
    p.add_argument("--checkpoint-minutes", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--init-onnx", help="fine-tune: start from an exported model's weights (models/NAME/onnx/model.onnx); "
                   "its validation loss is measured first, as step 0")
    p.add_argument("--probe-seconds", type=float, default=0, help="measure throughput for this long, then exit")
    return p.parse_args()


def build_windows(args, tokenizer: ByteLevelBPE, split: str, kind: str = "") -> List[Window]:
    """kind "": the direction's windows; "focus": the forward model's focus windows (sequences.py)."""
    cache = os.path.join(args.work, f"windows-{split}{'-' + kind if kind else ''}.pt")
    if os.path.exists(cache):
        return torch.load(cache)
    builder = SequenceBuilder(tokenizer, args.positions)
    make = {"": builder.forward_windows if args.direction == "forward" else builder.backward_windows,
            "focus": builder.focus_windows}[kind]
    windows: List[Window] = []
    with open(os.path.join(args.data, f"{split}.jsonl"), encoding="utf-8") as source:
        for line in source:
            windows.extend(make(json.loads(line)))
    torch.save(windows, cache + ".tmp")
    os.replace(cache + ".tmp", cache)
    return windows


def make_batches(windows: List[Window], batch_tokens: int) -> List[List[int]]:
    """Groups windows of similar length (little padding); each batch holds <= batch_tokens padded tokens."""
    order = sorted(range(len(windows)), key=lambda i: len(windows[i][0]))
    batches, current, longest = [], [], 0
    for index in order:
        length = len(windows[index][0])
        if current and max(longest, length) * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(index)
        longest = max(longest, length)
    if current:
        batches.append(current)
    return batches


def collate(windows: List[Window], indices: List[int], pad_id: int):
    """Right padding: with causal attention the pads never influence real positions, so no mask is needed."""
    length = max(len(windows[i][0]) for i in indices)
    ids = torch.full((len(indices), length), pad_id, dtype=torch.long)
    targets = torch.full((len(indices), length), -100, dtype=torch.long)
    for row, i in enumerate(indices):
        tokens, mask = windows[i]
        ids[row, : len(tokens)] = torch.tensor(tokens)
        shifted = tokens[1:] + [pad_id]
        targets[row, : len(tokens)] = torch.tensor([t if m else -100 for t, m in zip(shifted, mask)])
    return ids, targets


def batch_for_step(step: int, batches: List[List[int]], seed: int) -> List[int]:
    epoch, position = divmod(step, len(batches))
    order = list(range(len(batches)))
    random.Random(seed * 1000003 + epoch).shuffle(order)
    return batches[order[position]]


def hidden_states(model: GPT2LMHeadModel, ids: torch.Tensor) -> torch.Tensor:
    """The final layer-normed states, without the vocabulary projection.

    Training projects only the positions that carry a loss (about a third of them), which saves a
    large share of the compute of a small model whose vocabulary matrix is a big part of it.
    """
    transformer = model.transformer
    seq = ids.size(1)
    positions = torch.arange(seq, device=ids.device).unsqueeze(0)
    x = transformer.drop(transformer.wte(ids) + transformer.wpe(positions))
    allowed = torch.ones(seq, seq, dtype=torch.bool, device=ids.device).tril().view(1, 1, seq, seq)
    for block in transformer.h:
        x, _ = block(x, allowed, None)
    return transformer.ln_f(x)


def masked_loss(model: GPT2LMHeadModel, ids: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    device = next(model.parameters()).device
    ids, targets = ids.to(device, non_blocking=True), targets.to(device, non_blocking=True)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
        selected = targets != -100
        states = hidden_states(model, ids)[selected]
        logits = model.lm_head(states)
        return F.cross_entropy(logits.float(), targets[selected], reduction=reduction)


def load_onnx_weights(model: GPT2LMHeadModel, path: str) -> None:
    """The weights of an exported model (tools/gpt2/export.py names them `model.<state_dict key>`)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(path).graph
    weights = {i.name[len("model."):]: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in graph.initializer if i.name.startswith("model.")}
    expected = model.state_dict()
    missing = [key for key in expected if key not in weights and not key.endswith(("attn.bias", "masked_bias", "lm_head.weight"))]
    wrong = [key for key, value in weights.items() if key in expected and value.shape != expected[key].shape]
    if missing or wrong:
        sys.exit(f"{path} does not fit this model config: missing {missing[:5]}, other shapes {wrong[:5]}")
    model.load_state_dict({key: value for key, value in weights.items() if key in expected}, strict=False)


def learning_rate(step: int, args) -> float:
    """Warmup, constant, then a cosine decay over the last `decay_fraction` of the steps.

    Unlike a cosine over the whole run, the constant phase lets a resumed run change --steps (to fit
    a time budget) without a jump in the schedule, as long as the decay has not started.
    """
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    decay_start = int(args.steps * (1 - args.decay_fraction))
    if step < decay_start:
        return args.lr
    progress = min(1.0, (step - decay_start) / max(1, args.steps - decay_start))
    return args.lr * (args.min_lr_ratio + (1 - args.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def evaluate(model, windows: List[Window], batches: List[List[int]], pad_id: int) -> float:
    model.eval()
    total, count = 0.0, 0
    for indices in batches:
        ids, targets = collate(windows, indices, pad_id)
        total += masked_loss(model, ids, targets, reduction="sum").item()
        count += int((targets != -100).sum())
    model.train()
    return total / max(1, count)


def save_atomic(obj, path: str) -> None:
    torch.save(obj, path + ".tmp")
    os.replace(path + ".tmp", path)


def fmt_seconds(seconds: float) -> str:
    seconds = int(max(0, seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
    return torch.device(name)


def main() -> None:
    args = parse_args()
    os.makedirs(args.work, exist_ok=True)
    torch.manual_seed(args.seed)
    device = pick_device(args.device)
    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    tokenizer = ByteLevelBPE(args.tokenizer)
    pad_id = tokenizer.token_id("<|endoftext|>")
    train_windows = build_windows(args, tokenizer, "train")
    valid_windows = build_windows(args, tokenizer, "valid")
    if args.focus_repeat and args.direction == "forward":
        train_windows = train_windows + build_windows(args, tokenizer, "train", "focus") * args.focus_repeat
    batches = make_batches(train_windows, args.batch_tokens)
    valid_batches = make_batches(valid_windows, args.batch_tokens)
    target_tokens = sum(sum(m) for _, m in train_windows)
    input_tokens = sum(len(t) for t, _ in train_windows)
    print(
        f"[{args.direction}] {len(train_windows)} train windows ({input_tokens} tokens, {target_tokens} loss targets), "
        f"{len(valid_windows)} valid windows, {len(batches)} batches/epoch",
        file=sys.stderr,
    )

    config = GPT2Config(
        vocab_size=tokenizer.vocab_size, n_positions=args.positions, n_embd=args.embd, n_layer=args.layers,
        n_head=args.heads, bos_token_id=pad_id, eos_token_id=pad_id, dropout=args.dropout,
    )
    model = GPT2LMHeadModel(config).to(device)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.98), eps=1e-8,
    )
    params = sum(p.numel() for p in model.parameters())
    checkpoint_path = os.path.join(args.work, "checkpoint.pt")
    metrics_path = os.path.join(args.work, "metrics.json")
    state = {"step": 0, "seconds": 0.0, "tokens": 0, "evals": []}
    if os.path.exists(checkpoint_path) and not args.probe_seconds:
        saved = torch.load(checkpoint_path, map_location=device)
        if saved["config"] != config.__dict__:
            sys.exit(f"{checkpoint_path} was trained with another model config: delete it or pass the same sizes")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state = saved["state"]
        print(f"[{args.direction}] resumed at step {state['step']}", file=sys.stderr)
    elif args.init_onnx:
        load_onnx_weights(model, args.init_onnx)
        initial_loss = evaluate(model, valid_windows, valid_batches, pad_id)
        state["evals"].append({"step": 0, "valid_loss": initial_loss, "valid_ppl": math.exp(initial_loss), "subset": False, "init": args.init_onnx})
        print(f"[{args.direction}] {args.init_onnx}: valid loss {initial_loss:.4f} ppl {math.exp(initial_loss):.2f} before fine-tuning", file=sys.stderr)
    print(f"[{args.direction}] {params / 1e6:.2f}M parameters on {hardware}, {config.__dict__}", file=sys.stderr)

    def checkpoint() -> None:
        save_atomic({"config": config.__dict__, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "state": state, "args": vars(args)}, checkpoint_path)

    model.train()
    started = time.time()
    session_tokens = 0
    session_start_step = state["step"]
    last_checkpoint = time.time()
    while state["step"] < args.steps:
        step = state["step"]
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step, args)
        ids, targets = collate(train_windows, batch_for_step(step, batches, args.seed), pad_id)
        loss = masked_loss(model, ids, targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        state["step"] += 1
        state["tokens"] += ids.numel()
        session_tokens += ids.numel()
        elapsed = time.time() - started
        state_seconds = state["seconds"] + elapsed
        if state["step"] % 10 == 0 or state["step"] == args.steps:
            rate = session_tokens / max(elapsed, 1e-6)
            eta = (args.steps - state["step"]) * elapsed / max(1, state["step"] - session_start_step)
            print(
                f"\r[{args.direction}] step {state['step']}/{args.steps} loss {loss.item():.3f} "
                f"lr {learning_rate(step, args):.2e} {rate:.0f} tok/s elapsed {fmt_seconds(state_seconds)} ETA {fmt_seconds(eta)}",
                end="", file=sys.stderr, flush=True,
            )
        if args.probe_seconds and elapsed >= args.probe_seconds:
            print(f"\nPROBE {args.direction} params={params} steps={state['step']} tokens={session_tokens} "
                  f"seconds={elapsed:.1f} tok_per_s={session_tokens / elapsed:.0f} "
                  f"s_per_step={elapsed / (state['step'] - session_start_step):.2f} batches_per_epoch={len(batches)}", file=sys.stderr)
            return
        if state["step"] % args.eval_every == 0 or state["step"] == args.steps:
            # Every 4th validation batch along the way (cheap); all of them at the end.
            final_eval = state["step"] == args.steps
            subset = valid_batches if final_eval else valid_batches[::4]
            valid_loss = evaluate(model, valid_windows, subset, pad_id)
            state["evals"].append({"step": state["step"], "valid_loss": valid_loss, "valid_ppl": math.exp(valid_loss),
                                   "subset": not final_eval})
            print(f"\n[{args.direction}] step {state['step']}: valid loss {valid_loss:.4f} ppl {math.exp(valid_loss):.2f}"
                  f"{'' if final_eval else ' (1/4 of validation)'}", file=sys.stderr)
        if time.time() - last_checkpoint >= args.checkpoint_minutes * 60 or state["step"] == args.steps:
            state["seconds"] = state_seconds
            started, session_tokens = time.time(), 0
            session_start_step = state["step"]
            checkpoint()
            last_checkpoint = time.time()
    final = state["evals"][-1] if state["evals"] else {}
    with open(metrics_path, "w", encoding="utf-8") as out:
        json.dump({"direction": args.direction, "parameters": params, "steps": state["step"], "train_seconds": state["seconds"],
                   "train_tokens_seen": state["tokens"], "hardware": hardware, "train_windows": len(train_windows),
                   "train_input_tokens_per_epoch": input_tokens, "train_target_tokens_per_epoch": target_tokens,
                   "valid_windows": len(valid_windows), "final": final, "evals": state["evals"], "config": config.__dict__,
                   "args": vars(args)}, out, indent=2)
    print(f"\n[{args.direction}] done: {metrics_path}", file=sys.stderr)


if __name__ == "__main__":
    main()
