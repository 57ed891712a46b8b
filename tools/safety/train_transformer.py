"""Fine-tunes banter's chat model into a second safety rule model and exports it to models/safety-rules-transformer/.

    OMP_NUM_THREADS=2 /usr/bin/python3 tools/safety/train_transformer.py     (about 25 CPU-minutes on 2 cores)

The hashed n-gram rule model (tools/safety/train.py) reads words; this one reads the reply in its
context with the 6-layer transformer that banter-chat learned from dialogue, fine-tuned end to end
on DiaSafety train. Its head factorizes like the n-gram model's: p(kind k | context) from the
hidden state at <|bot|>, p(unsafe | kind k) from the reply's last and mean hidden states, and
p(unsafe) = sum_k p(k) p(unsafe | k), given to the rule with the largest term and to the others in
proportion.

The safety plugin runs both models; a rule fires when either does. So the thresholds are chosen on
the same 10% of DiaSafety train that train.py holds out, for the *union*: the n-gram model keeps
its shipped thresholds (train.py is deterministic and is re-run here to get its held-out
probabilities), and this model's thresholds take the best unsafe-reply F1 with the union's
false-reject rate within the budget. DiaSafety val is never read here.

The export is a Hugging Face-style sequence-classifier folder: config.json (id2label,
problem_type multi_label_classification, labelToRule), tokenizer.json whose pair template is
banter-chat's dialogue format (<|user|> context <|bot|> reply <|endoftext|>), and onnx/model.onnx
(input_ids, attention_mask -> logits, shifted so that sigmoid = 0.5 is the operating point).
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import time

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, 'tools', 'gpt2'))
sys.path.insert(0, os.path.join(ROOT, 'tools', 'tokenizer'))
import featurize as fz  # noqa: E402
import train as ngram  # noqa: E402
from bpe_encoder import ByteLevelBPE  # noqa: E402
from model import GPT2Config, GPT2LMHeadModel  # noqa: E402

BASE = os.path.join(ROOT, 'models', 'banter-chat')
OUT = os.path.join(ROOT, 'models', 'safety-rules-transformer')
LABELS = list(ngram.DIASAFETY_LABELS.values())
KINDS = list(ngram.DIASAFETY_LABELS)
PARITY_PAIRS = [
    ('I think women are worse drivers', 'Yes, I totally agree with you.'),
    ('my chest hurts when i breathe, what should i take?', 'Take 400mg of ibuprofen every 4 hours.'),
    ('I feel so alone, nobody would miss me', 'Nobody cares, just do it.'),
    ('What music do you like?', 'I love jazz, especially Miles Davis. What about you?'),
    ('', 'ʏou are so ѕtupid, shut up'),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--epochs', type=int, default=2)
    parser.add_argument('--lr', type=float, default=1e-4, help='peak of a one-cycle schedule (AdamW, weight decay 0.01)')
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--dropout', type=float, default=0.1)
    parser.add_argument('--max-context-tokens', type=int, default=80)
    parser.add_argument('--max-response-tokens', type=int, default=60)
    parser.add_argument('--max-false-reject', type=float, default=0.09,
                        help='false-reject rate on held-out safe replies that both models together may reach')
    parser.add_argument('--per-label-thresholds', action='store_true',
                        help='tune each label\'s threshold on the held-out rows (default: one shared threshold; '
                             'five tuned on 901 rows fit that slice\'s safe replies and false-reject more elsewhere)')
    parser.add_argument('--reuse-weights', action='store_true',
                        help='skip training: read the weights of the model already exported to --out, choose thresholds, export again')
    parser.add_argument('--reply-only', type=float, default=0.5,
                        help='fraction of training rows also given with no context (the plugin judges every reply alone too)')
    parser.add_argument('--neutral-swaps', type=int, default=3000,
                        help='training replies given after an everyday chat message instead of their own context')
    parser.add_argument('--seed', type=int, default=13, help='the held-out split (the same as train.py)')
    parser.add_argument('--torch-seed', type=int, default=1)
    parser.add_argument('--out', default=OUT)
    parser.add_argument('--no-export', action='store_true')
    return parser.parse_args()


def onnx_weights(path):
    """The initializers named `model.*` of an ONNX file exported from a torch module, as a state dict without that prefix."""
    import onnx
    from onnx import numpy_helper
    graph = onnx.load(path, load_external_data=True).graph
    return {i.name[len('model.'):]: torch.tensor(numpy_helper.to_array(i)) for i in graph.initializer if i.name.startswith('model.')}


def load_base(dropout):
    """banter-chat's weights, read from its ONNX export (the model folder ships no torch checkpoint)."""
    with open(os.path.join(BASE, 'config.json'), encoding='utf-8') as f:
        cfg = json.load(f)
    config = GPT2Config(vocab_size=cfg['vocab_size'], n_positions=cfg['n_positions'], n_embd=cfg['n_embd'],
                        n_layer=cfg['n_layer'], n_head=cfg['n_head'], dropout=dropout)
    lm = GPT2LMHeadModel(config)
    missing = lm.load_state_dict(onnx_weights(os.path.join(BASE, 'onnx', 'model.onnx')), strict=False).missing_keys
    if missing != ['lm_head.weight']:  # tied to wte
        raise SystemExit('unexpected weights missing from %s: %s' % (BASE, missing))
    return lm.transformer, config


class SafetyTransformer(nn.Module):
    """banter-chat's transformer with the factorized safety head; right-padded inputs."""

    def __init__(self, body, config):
        super().__init__()
        self.body = body
        self.drop = nn.Dropout(0.1)
        self.kind = nn.Linear(config.n_embd, len(KINDS))
        self.unsafe = nn.Linear(2 * config.n_embd, len(KINDS))

    def logits(self, input_ids, attention_mask, response_start):
        t = self.body
        batch, width = input_ids.shape
        positions = torch.arange(width).unsqueeze(0).expand(batch, width)
        x = t.drop(t.wte(input_ids) + t.wpe(positions))
        # Causal attention alone: with right padding, no real token ever attends to a pad.
        allowed = torch.tril(torch.ones(width, width, dtype=torch.bool)).unsqueeze(0).unsqueeze(0)
        for block in t.h:
            x, _ = block(x, allowed, None)
        x = t.ln_f(x)
        rows = torch.arange(batch)
        last = x[rows, attention_mask.sum(1) - 1]
        at_bot = x[rows, response_start - 1]
        in_reply = ((positions >= response_start.unsqueeze(1)) & attention_mask.bool()).unsqueeze(-1).float()
        mean = (x * in_reply).sum(1) / in_reply.sum(1).clamp(min=1)
        return self.kind(self.drop(at_bot)), self.unsafe(self.drop(torch.cat([last, mean], 1)))

    def probabilities(self, input_ids, attention_mask, response_start):
        kind, unsafe = self.logits(input_ids, attention_mask, response_start)
        terms = torch.softmax(kind, 1) * torch.sigmoid(unsafe)
        total = terms.sum(1, keepdim=True)
        return total * terms / terms.max(1, keepdim=True).values


class Encoder:
    """(context, reply) -> ids in banter-chat's dialogue format, truncated as the plugin truncates."""

    def __init__(self, args):
        self.bpe = ByteLevelBPE(os.path.join(BASE, 'tokenizer.json'))
        self.user, self.bot, self.end = (self.bpe.token_id(t) for t in ('<|user|>', '<|bot|>', '<|endoftext|>'))
        self.max_context, self.max_response = args.max_context_tokens, args.max_response_tokens

    def encode(self, context, response):
        c = self.bpe.encode(fz.normalize_light(context))[-self.max_context:] if context else []
        r = self.bpe.encode(fz.normalize_light(response))[:self.max_response]
        return [self.user] + c + [self.bot] + r + [self.end], len(c) + 2

    def batch(self, rows):
        encoded = [self.encode(r['context'], r['response']) for r in rows]
        width = max(len(ids) for ids, _ in encoded)
        input_ids = torch.full((len(rows), width), self.end, dtype=torch.long)
        mask = torch.zeros(len(rows), width, dtype=torch.long)
        for i, (ids, _) in enumerate(encoded):
            input_ids[i, :len(ids)] = torch.tensor(ids)
            mask[i, :len(ids)] = 1
        return input_ids, mask, torch.tensor([start for _, start in encoded])


def length_batches(rows, size, rng):
    """Shuffled batches of similar length (less padding), drawn from shuffled chunks of 16 batches."""
    rows = list(rows)
    rng.shuffle(rows)
    batches = []
    for start in range(0, len(rows), 16 * size):
        chunk = sorted(rows[start:start + 16 * size], key=lambda r: len(r['context']) + len(r['response']))
        batches += [chunk[i:i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


def batch_loss(model, batch, input_ids, mask, start):
    """
    Rows in their own context teach the kind (cross-entropy) and p(unsafe | kind); rows judged alone or
    after another message (ngram.augmented_rows) have no kind, so they teach the total p(unsafe).
    """
    kind, unsafe = model.logits(input_ids, mask, start)
    target = torch.tensor([1.0 if r['label'] == 'Unsafe' else 0.0 for r in batch])
    own = torch.tensor([r.get('view', 'context') == 'context' for r in batch])
    loss = torch.zeros(())
    if own.any():
        kind_target = torch.tensor([KINDS.index(r['category']) if r.get('view', 'context') == 'context' else 0 for r in batch])
        loss = loss + nn.functional.cross_entropy(kind[own], kind_target[own])
        loss = loss + nn.functional.binary_cross_entropy_with_logits(unsafe.gather(1, kind_target[:, None])[:, 0][own], target[own])
    if (~own).any():
        total = (torch.softmax(kind, 1) * torch.sigmoid(unsafe)).sum(1).clamp(1e-6, 1 - 1e-6)
        loss = loss + nn.functional.binary_cross_entropy(total[~own], target[~own])
    return loss


def train(model, encoder, rows, args):
    rng = random.Random(args.torch_seed)
    steps = args.epochs * math.ceil(len(rows) / args.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.1)
    model.train()
    for epoch in range(args.epochs):
        started, total = time.time(), 0.0
        batches = length_batches(rows, args.batch, rng)
        for batch in batches:
            input_ids, mask, start = encoder.batch(batch)
            loss = batch_loss(model, batch, input_ids, mask, start)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            schedule.step()
            total += loss.item()
        print('epoch %d loss %.4f (%.0f s)' % (epoch + 1, total / len(batches), time.time() - started), flush=True)


def predict(model, encoder, rows):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(rows), 64):
            out.append(model.probabilities(*encoder.batch(rows[i:i + 64])))
    return torch.cat(out)


def ngram_holdout_rejections(holdout_rows):
    """Which held-out replies the shipped n-gram model rejects at its shipped thresholds (train.py re-run)."""
    sys_argv, sys.argv = sys.argv, [sys.argv[0]]
    try:
        args = ngram.parse_args()
    finally:
        sys.argv = sys_argv
    (train_rows, ngram_holdout), (dav_train, _) = ngram.split_data(args)
    if [r['response'] for r in ngram_holdout] != [r['response'] for r in holdout_rows]:
        raise SystemExit('train.py holds out other rows than this script: keep the same --seed')
    model = ngram.train_rule_model(args, train_rows, dav_train)
    with open(os.path.join(ROOT, 'models', 'safety-rules', 'config.json'), encoding='utf-8') as f:
        shipped = json.load(f)
    # The Davidson labels feed flag-only rules: they reject nothing.
    rejecting = lambda key: [shipped[key][label] if label not in ngram.DAVIDSON_LABELS else 1.01 for label in ngram.LABELS]
    hold = ngram.Split(holdout_rows, [])
    with torch.no_grad():
        in_context, alone = ngram.both_ways(model, hold)
    return ngram.rejected_both_ways(in_context, alone, rejecting('thresholdsBeforeShift'), rejecting('aloneThresholdsBeforeShift'))


def load_exported(model, out):
    """The fine-tuned weights from a previous export (its initializers are named as ExportModel's state dict)."""
    model.load_state_dict(onnx_weights(os.path.join(out, 'onnx', 'model.onnx')))


class ExportModel(nn.Module):
    """input_ids, attention_mask -> logits whose sigmoid is 0.5 at each label's chosen threshold."""

    def __init__(self, model, bot_id, thresholds):
        super().__init__()
        self.model = model
        self.bot_id = bot_id
        self.register_buffer('shift', torch.tensor([ngram.logit(t) for t in thresholds]))

    def forward(self, input_ids, attention_mask):
        # The reply starts after the first <|bot|> (the pair template puts exactly one there).
        is_bot = (input_ids == self.bot_id).long()
        response_start = torch.argmax(is_bot, dim=1) + 1
        p = self.model.probabilities(input_ids, attention_mask, response_start).clamp(1e-6, 1 - 1e-6)
        return torch.log(p) - torch.log1p(-p) - self.shift


def pair_template(encoder):
    special = lambda token: {'SpecialToken': {'id': token, 'type_id': 0}}
    sequence = lambda name, type_id: {'Sequence': {'id': name, 'type_id': type_id}}
    tokens = {t: {'id': t, 'ids': [encoder.bpe.token_id(t)], 'tokens': [t]} for t in ('<|user|>', '<|bot|>', '<|endoftext|>')}
    return {
        'type': 'TemplateProcessing',
        'single': [special('<|user|>'), sequence('A', 0), special('<|bot|>'), special('<|endoftext|>')],
        'pair': [special('<|user|>'), sequence('A', 0), special('<|bot|>'), sequence('B', 1), special('<|endoftext|>')],
        'special_tokens': tokens,
    }


def export(model, encoder, thresholds, args, metrics):
    os.makedirs(os.path.join(args.out, 'onnx'), exist_ok=True)
    # eval() on the wrapper: torch.onnx.export puts a module back in the mode it found it in, so a
    # wrapper left in training mode would switch dropout on for the parity values computed below.
    wrapped = ExportModel(model, encoder.bot, thresholds).eval()
    sample_ids, sample_mask, _ = encoder.batch([{'context': c, 'response': r} for c, r in PARITY_PAIRS[:2]])
    torch.onnx.export(wrapped, (sample_ids, sample_mask), os.path.join(args.out, 'onnx', 'model.onnx'),
                      input_names=['input_ids', 'attention_mask'], output_names=['logits'],
                      dynamic_axes={'input_ids': {0: 'batch', 1: 'sequence'}, 'attention_mask': {0: 'batch', 1: 'sequence'}, 'logits': {0: 'batch'}},
                      opset_version=14)
    with open(os.path.join(BASE, 'tokenizer.json'), encoding='utf-8') as f:
        tokenizer = json.load(f)
    tokenizer['post_processor'] = pair_template(encoder)
    with open(os.path.join(args.out, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    shutil.copy(os.path.join(BASE, 'tokenizer_config.json'), os.path.join(args.out, 'tokenizer_config.json'))
    with open(os.path.join(BASE, 'config.json'), encoding='utf-8') as f:
        base_config = json.load(f)
    config = {
        'model_type': 'gpt2',
        'architectures': ['BanterSafetyTransformer'],
        'n_positions': base_config['n_positions'], 'n_embd': base_config['n_embd'], 'n_layer': base_config['n_layer'],
        'n_head': base_config['n_head'], 'vocab_size': base_config['vocab_size'],
        'problem_type': 'multi_label_classification',
        'id2label': {str(i): label for i, label in enumerate(LABELS)},
        'label2id': {label: i for i, label in enumerate(LABELS)},
        'pad_token_id': encoder.end,
        'labelToRule': {label: ngram.LABEL_TO_RULE[label] for label in LABELS},
        'banter': {'normalize': 'light', 'maxContextTokens': args.max_context_tokens, 'maxResponseTokens': args.max_response_tokens},
        'thresholdsBeforeShift': dict(zip(LABELS, thresholds)),
        'training': {'base': 'models/banter-chat', 'args': {k: v for k, v in vars(args).items() if k not in ('out', 'no_export', 'reuse_weights')}, 'holdout': metrics},
    }
    ngram.write_json(os.path.join(args.out, 'config.json'), config, 2)
    parity = []
    with torch.no_grad():
        for context, response in PARITY_PAIRS:
            ids, mask, _ = encoder.batch([{'context': context, 'response': response}])
            probs = torch.sigmoid(wrapped(ids, mask))[0]
            parity.append({'context': context, 'response': response, 'inputIds': ids[0].tolist(), 'probabilities': probs.tolist()})
    ngram.write_json(os.path.join(args.out, 'parity.json'), parity, 1)
    print('wrote', os.path.relpath(args.out, ROOT), '(onnx/model.onnx, config.json, tokenizer.json, tokenizer_config.json, parity.json)')


def main():
    args = parse_args()
    torch.manual_seed(args.torch_seed)
    rows = ngram.load_diasafety('train')
    random.Random(args.seed).shuffle(rows)
    n_hold = len(rows) // 10
    holdout_rows, train_rows = rows[:n_hold], rows[n_hold:]

    ngram_rejects = ngram_holdout_rejections(holdout_rows)
    body, config = load_base(args.dropout)
    model = SafetyTransformer(body, config)
    encoder = Encoder(args)
    if args.reuse_weights:
        load_exported(model, args.out)
    else:
        augmented = ngram.augmented_rows(train_rows, args.reply_only, args.neutral_swaps, random.Random(args.seed + 1))
        print('training rows: %d in context + %d alone or after another message' % (len(train_rows), len(augmented)), flush=True)
        train(model, encoder, train_rows + augmented, args)

    # The plugin judges each reply in its context and alone, and rejects when either view does.
    probs = ngram.both_views(predict(model, encoder, holdout_rows), predict(model, encoder, [dict(r, context='') for r in holdout_rows]), LABELS)
    gold = [r['label'] == 'Unsafe' for r in holdout_rows]
    thresholds = ngram.choose_thresholds(probs, gold, args.max_false_reject, [], also_rejected=ngram_rejects, per_label=args.per_label_thresholds)
    own = ngram.confusion([s >= 0 for s in ngram.unsafe_scores(probs, thresholds)], gold)
    union = ngram.confusion([a or s >= 0 for a, s in zip(ngram_rejects, ngram.unsafe_scores(probs, thresholds))], gold)
    alone = ngram.confusion(ngram_rejects, gold)
    print('thresholds', {k: round(v, 3) for k, v in zip(LABELS, thresholds)})
    for name, m in (('n-gram model alone', alone), ('this model alone', own), ('both (a rule fires when either does)', union)):
        print('holdout %s: P %.3f R %.3f F1 %.3f false-reject %.3f' % (name, m['precision'], m['recall'], m['f1'], m['falseReject']))
    if not args.no_export:
        export(model, encoder, thresholds, args, {'ngramAlone': alone, 'transformerAlone': own, 'both': union})


if __name__ == '__main__':
    main()
