"""Trains banter's reward model on preference pairs made from human dialogues; exports models/banter-reward/.

    OMP_NUM_THREADS=2 nice -n 10 /usr/bin/python3 tools/reward/train.py [--data ../shared/data]

No people rated replies for this first model, so the preferences come from the dialogues
themselves: in context (the turn before), the reply a person actually gave is preferred over
  - `other dialogue`: a reply from a random other dialogue (off topic), and
  - `same dialogue`: a reply from the same dialogue at least three turns away (on topic, but not an
    answer to this turn),
half of each. The body is banter-chat's embeddings and first `--layers` transformer blocks
(read from its ONNX export), fine-tuned end to end with the Bradley–Terry loss
-log sigmoid(r(context, preferred) - r(context, other)). Dialogues whose id falls in the shared
validation slice (tools/data/dialogue_jsonl.is_validation, which banter-chat never trained on)
give the held-out pairs; figures (pairwise accuracy by kind of negative, and against two
baselines) go to the model card's `training` entry in config.json and to figures/*.svg.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from reward_model import ROOT, GPT2Config, PairEncoder, RewardModel, export  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "tools", "data"))
import persona_chat  # noqa: E402
import sgd  # noqa: E402
import topical_chat  # noqa: E402
from dialogue_jsonl import content_words, is_validation  # noqa: E402

BASE = os.path.join(ROOT, "models", "banter-chat")
OUT = os.path.join(ROOT, "models", "banter-reward")
SOURCES = (("topical-chat", topical_chat.convert), ("synthetic-persona-chat", persona_chat.convert), ("sgd", sgd.convert))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    parser.add_argument("--layers", type=int, default=2, help="banter-chat blocks kept (of 6)")
    parser.add_argument("--train-pairs", type=int, default=48000)
    parser.add_argument("--valid-pairs", type=int, default=4000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--max-context-tokens", type=int, default=48)
    parser.add_argument("--max-response-tokens", type=int, default=48)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", default=OUT)
    return parser.parse_args()


def exchanges(data):
    """(dialogue id, [turn texts]) for every dialogue of the sources, with its split."""
    for name, convert in SOURCES:
        count = 0
        for dialogue in convert(data):
            texts = [t["text"] for t in dialogue["turns"] if t["text"].strip()]
            if len(texts) >= 2:
                count += 1
                yield dialogue["id"], texts
        print(f"{name}: {count} dialogues", file=sys.stderr, flush=True)


def make_pairs(dialogues, count, rng):
    """Up to `count` (context, preferred, other, kind) rows, half with each kind of negative."""
    rows = []
    for index, (_, texts) in enumerate(dialogues):
        for i in range(1, len(texts)):
            far = [j for j in range(len(texts)) if abs(j - i) >= 3]
            if far and rng.random() < 0.5:
                rows.append((texts[i - 1], texts[i], texts[rng.choice(far)], "same dialogue"))
            else:
                other = dialogues[rng.randrange(len(dialogues))]
                if other is dialogues[index]:
                    continue
                rows.append((texts[i - 1], texts[i], rng.choice(other[1][1:]), "other dialogue"))
    rng.shuffle(rows)
    return rows[:count]


def onnx_weights(path):
    import onnx
    from onnx import numpy_helper
    graph = onnx.load(path, load_external_data=True).graph
    return {i.name[len("model."):]: torch.tensor(numpy_helper.to_array(i)) for i in graph.initializer if i.name.startswith("model.")}


def load_base(layers, dropout):
    with open(os.path.join(BASE, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    config = GPT2Config(vocab_size=cfg["vocab_size"], n_positions=cfg["n_positions"], n_embd=cfg["n_embd"], n_layer=layers, n_head=cfg["n_head"], dropout=dropout)
    model = RewardModel(config)
    base = onnx_weights(os.path.join(BASE, "onnx", "model.onnx"))
    state = {}
    for name, tensor in base.items():
        name = name.replace("transformer.", "")
        if name.startswith("h.") and int(name.split(".")[1]) >= layers:
            continue
        if name in model.state_dict():
            state[name] = tensor
    missing = model.load_state_dict(state, strict=False).missing_keys
    if sorted(missing) != ["head.bias", "head.weight"]:
        raise SystemExit(f"unexpected weights missing from {BASE}: {missing}")
    return model


def scores(model, encoder, pairs):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(pairs), 64):
            out.append(model(*encoder.batch(pairs[i:i + 64]))[:, 0])
    model.train()
    return torch.cat(out)


def accuracy(model, encoder, rows):
    """Held-out pairwise accuracy overall and by kind of negative."""
    preferred = scores(model, encoder, [(c, p) for c, p, _, _ in rows])
    other = scores(model, encoder, [(c, o) for c, _, o, _ in rows])
    right = (preferred > other).float()
    result = {"all": right.mean().item()}
    for kind in ("other dialogue", "same dialogue"):
        mask = torch.tensor([k == kind for *_, k in rows])
        result[kind] = right[mask].mean().item()
    return result


def baseline_accuracy(rows, score):
    result = {"all": 0.0}
    by_kind = {}
    for context, preferred, other, kind in rows:
        a, b = score(context, preferred), score(context, other)
        value = 1.0 if a > b else 0.5 if a == b else 0.0
        by_kind.setdefault(kind, []).append(value)
    flat = [v for values in by_kind.values() for v in values]
    result["all"] = sum(flat) / len(flat)
    for kind, values in by_kind.items():
        result[kind] = sum(values) / len(values)
    return result


def overlap(context, reply):
    return len(content_words(context) & content_words(reply))


def svg_lines(path, title, series, x_label, y_label, y_range=None):
    """A small line chart as SVG: series is {name: [(x, y), ...]}."""
    series = {name: points for name, points in series.items() if points}
    if not series:
        return
    width, height, left, bottom, top, right = 680, 320, 56, 40, 30, 270
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points]
    x0, x1 = min(xs), max(xs) or 1
    y0, y1 = y_range or (min(ys), max(ys))
    sx = lambda x: left + (x - x0) / ((x1 - x0) or 1) * (width - left - right)
    sy = lambda y: height - bottom - (y - y0) / ((y1 - y0) or 1) * (height - top - bottom)
    colors = ["#2f6fde", "#d1495b", "#1f8a4c", "#9a6200", "#6b7280"]
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="{left}" y="18" font-size="14" font-weight="bold">{title}</text>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - right}" y2="{height - bottom}" stroke="#999"/>',
             f'<line x1="{left}" y1="{top}" x2="{left}" y2="{height - bottom}" stroke="#999"/>',
             f'<text x="{(left + width - right) / 2}" y="{height - 8}" text-anchor="middle">{x_label}</text>',
             f'<text x="14" y="{(top + height - bottom) / 2}" transform="rotate(-90 14 {(top + height - bottom) / 2})" text-anchor="middle">{y_label}</text>']
    for k in range(5):
        y = y0 + (y1 - y0) * k / 4
        parts.append(f'<text x="{left - 6}" y="{sy(y) + 4}" text-anchor="end">{y:.2f}</text>')
        parts.append(f'<line x1="{left}" y1="{sy(y)}" x2="{width - right}" y2="{sy(y)}" stroke="#eee"/>')
    parts.append(f'<text x="{left}" y="{height - bottom + 16}" text-anchor="middle">{x0:g}</text><text x="{width - right}" y="{height - bottom + 16}" text-anchor="middle">{x1:g}</text>')
    for n, (name, points) in enumerate(series.items()):
        color = colors[n % len(colors)]
        path_d = " ".join(f"{'M' if i == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for i, (x, y) in enumerate(points))
        dash = ' stroke-dasharray="5,4"' if len(points) == 2 and points[0][1] == points[1][1] else ""
        parts.append(f'<path d="{path_d}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        parts.append(f'<text x="{width - right + 8}" y="{top + 16 * n + 10}" fill="{color}">{name}</text>')
    parts.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts) + "\n")


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    train_dialogues, valid_dialogues = [], []
    for dialogue_id, texts in exchanges(args.data):
        (valid_dialogues if is_validation(dialogue_id) else train_dialogues).append((dialogue_id, texts))
    train_rows = make_pairs(train_dialogues, args.train_pairs, rng)
    valid_rows = make_pairs(valid_dialogues, args.valid_pairs, random.Random(args.seed + 1))
    print(f"pairs: {len(train_rows)} train ({len(train_dialogues)} dialogues), {len(valid_rows)} held out ({len(valid_dialogues)} dialogues)", flush=True)

    encoder = PairEncoder(os.path.join(BASE, "tokenizer.json"), args.max_context_tokens, args.max_response_tokens)
    model = load_base(args.layers, dropout=0.1)
    baselines = {
        "longer reply": baseline_accuracy(valid_rows, lambda c, r: len(r)),
        "more words shared with the context": baseline_accuracy(valid_rows, overlap),
    }
    history = {"step": [], "loss": [], "eval": []}
    start_accuracy = accuracy(model, encoder, valid_rows)
    print("before training", json.dumps(start_accuracy), "baselines", json.dumps(baselines), flush=True)
    history["eval"].append((0, start_accuracy))

    steps = args.epochs * math.ceil(len(train_rows) / args.batch)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.05)
    model.train()
    step, started, running = 0, time.time(), 0.0
    for _ in range(args.epochs):
        for i in range(0, len(train_rows), args.batch):
            batch = train_rows[i:i + args.batch]
            both = encoder.batch([(c, p) for c, p, _, _ in batch] + [(c, o) for c, _, o, _ in batch])
            reward = model(*both)[:, 0]
            preferred, other = reward[:len(batch)], reward[len(batch):]
            loss = -torch.nn.functional.logsigmoid(preferred - other).mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            running += loss.item()
            if step % 50 == 0:
                history["step"].append(step)
                history["loss"].append(running / 50)
                print(f"step {step}/{steps} loss {running / 50:.4f} ({time.time() - started:.0f} s)", flush=True)
                running = 0.0
            if step % args.eval_every == 0 or step == steps:
                result = accuracy(model, encoder, valid_rows)
                history["eval"].append((step, result))
                print(f"step {step} held-out accuracy {json.dumps(result)}", flush=True)

    final = history["eval"][-1][1]
    os.makedirs(os.path.join(args.out, "figures"), exist_ok=True)
    svg_lines(os.path.join(args.out, "figures", "loss.svg"), "Training loss (Bradley–Terry, mean of 50 steps)",
              {"loss": list(zip(history["step"], history["loss"]))}, "step", "loss")
    series = {kind: [(s, r[kind]) for s, r in history["eval"]] for kind in ("all", "other dialogue", "same dialogue")}
    for name, result in baselines.items():
        series[f"baseline: {name}"] = [(0, result["all"]), (steps, result["all"])]
    svg_lines(os.path.join(args.out, "figures", "heldout-accuracy.svg"), "Held-out pairwise accuracy", series, "step", "accuracy", (0.4, 1.0))
    training = {
        "base": "models/banter-chat (embeddings and the first %d of 6 blocks)" % args.layers,
        "data": "Topical-Chat, Synthetic-Persona-Chat, Schema-Guided Dialogue (music/media/movies): the reply a person gave over a reply from another dialogue or from 3+ turns away",
        "args": {k: v for k, v in vars(args).items() if k not in ("out", "data")},
        "pairs": {"train": len(train_rows), "heldOut": len(valid_rows)},
        "heldOutAccuracy": {"beforeTraining": start_accuracy, "trained": final, "baselines": baselines},
        "seconds": round(time.time() - started),
    }
    export(model, encoder, BASE, args.out, {"training": training})
    # Parity: what torch scores for a few pairs, for banter's tests.
    parity = []
    model.eval()
    with torch.no_grad():
        for context, preferred, other, _ in valid_rows[:4]:
            for reply in (preferred, other):
                ids = encoder.encode(context, reply)
                parity.append({"context": context, "response": reply, "inputIds": ids, "score": model(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))[0, 0].item()})
    with open(os.path.join(args.out, "parity.json"), "w", encoding="utf-8") as f:
        json.dump(parity, f, indent=1)
        f.write("\n")
    print("trained", json.dumps(training), flush=True)


if __name__ == "__main__":
    main()
