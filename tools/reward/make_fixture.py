"""Builds test/fixtures/tiny-reward-model: banter's reward model architecture with tiny random weights.

tiny-gpt2's tokenizer, 2 layers of width 32, 64 positions (a few hundred KB). The weights are not
trained: the tests check that banter runs the folder as torch does (`expected.json`: pairs, the
ids the pair template gives, and torch's scores), not what it prefers.

    OMP_NUM_THREADS=1 /usr/bin/python3 tools/reward/make_fixture.py [--out DIR]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reward_model import ROOT, GPT2Config, PairEncoder, RewardModel, export  # noqa: E402

TOKENIZER = os.path.join(ROOT, "test", "fixtures", "tiny-gpt2")
CASES = [
    ("How tall is Mount Everest?", "It is 8,849 metres tall."),
    ("How tall is Mount Everest?", "I like jazz."),
    ("", "Hello there!"),
    ("Can you recommend a song for a rainy day? Something calm, maybe a piano piece or an acoustic guitar.", "Try a calm piano piece."),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(ROOT, "test", "fixtures", "tiny-reward-model"))
    args = parser.parse_args()
    encoder = PairEncoder(os.path.join(TOKENIZER, "tokenizer.json"), max_context=24, max_response=24)
    torch.manual_seed(11)
    config = GPT2Config(vocab_size=encoder.bpe.vocab_size, n_positions=64, n_embd=32, n_layer=2, n_head=2, dropout=0.0)
    model = RewardModel(config).eval()
    with torch.no_grad():
        # Random but not near-constant scores, so that a wrong pooling or padding shows in the tests.
        model.head.weight.normal_(0, 1.0)
    export(model, encoder, TOKENIZER, args.out)
    expected = []
    with torch.no_grad():
        for context, response in CASES:
            ids = encoder.encode(context, response)
            score = model(torch.tensor([ids]), torch.ones(1, len(ids), dtype=torch.long))[0, 0].item()
            expected.append({"context": context, "response": response, "inputIds": ids, "score": score})
    with open(os.path.join(args.out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print(json.dumps({"out": os.path.relpath(args.out, ROOT), "bytes": total, "scores": [round(e["score"], 4) for e in expected]}))


if __name__ == "__main__":
    main()
