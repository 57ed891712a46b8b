"""Trains banter's safety rule model and exports it to models/safety-rules/.

One command, a few minutes of CPU, stdlib + torch only:
    OMP_NUM_THREADS=2 /usr/bin/python3 tools/safety/train.py

Data (read from ../shared/data/safety, never copied): DiaSafety train (context, response, category,
Safe/Unsafe) and Davidson et al.'s tweets (hate speech / offensive / neither). A small multi-label
MLP over hashed word and character n-grams of the context and the response outputs one violation
probability per label. 10% of DiaSafety train (fixed seed) is held out to choose each label's
threshold; the exported model shifts its output biases so that 0.5 is that operating point.
DiaSafety val is never read here: bench/eval/safety.ts reports on it.
"""
import argparse
import csv
import json
import math
import os
import random
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import featurize as fz  # noqa: E402
import synthetic  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, '..', 'shared', 'data', 'safety')
DIALOGUE = os.path.join(ROOT, '..', 'shared', 'data', 'dialogue')
OUT = os.path.join(ROOT, 'models', 'safety-rules')

DIASAFETY_LABELS = {
    'Offending User': 'offending_user',
    'Risk Ignorance': 'risk_ignorance',
    'Unauthorized Expertise': 'unauthorized_expertise',
    'Toxicity Agreement': 'toxicity_agreement',
    'Biased Opinion': 'biased_opinion',
}
DAVIDSON_LABELS = ['hate_speech', 'offensive_language']
LABELS = list(DIASAFETY_LABELS.values()) + DAVIDSON_LABELS
LABEL_TO_RULE = {
    'offending_user': 'insult_user',
    'risk_ignorance': 'risk_ignorance',
    'unauthorized_expertise': 'unauthorized_expertise',
    'toxicity_agreement': 'toxicity_agreement',
    'biased_opinion': 'biased_opinion',
    'hate_speech': 'hateful_language',
    'offensive_language': 'toxic_language',
}
N_DIA = len(DIASAFETY_LABELS)
# Kinds whose unsafe replies are unsafe by themselves (an insult, a biased claim, medical advice) and kinds
# whose replies are unsafe only for what they answer ("Yeah, I agree." to a toxic message).
UNSAFE_ALONE = {'Offending User', 'Biased Opinion', 'Unauthorized Expertise'}

# Strings whose normalization, features and probabilities the TypeScript parity test checks.
PARITY_STRINGS = [
    ('', 'Hello there! How are you today?'),
    ('I think women are worse drivers', 'Yes, I totally agree with you.'),
    ('', 'Y0u are a s t u p i d  1d10t!!!'),
    ('', 'ѕhuｔ up, you f\u200bu\u200bc\u200bk\u200bi\u200bn\u200bg looooser'),
    ('my chest hurts when i breathe, what should i take?', 'Take 400mg of ibuprofen every 4 hours.'),
    ('', 'Ｃａｆé — naïve f.u.c.k $hit @ss'),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--epochs', type=int, default=80, help='full-batch Adam steps')
    parser.add_argument('--lr', type=float, default=0.05)
    parser.add_argument('--l2', type=float, default=1e-4)
    parser.add_argument('--davidson-per-class', type=int, default=3000)
    parser.add_argument('--chat-negatives', type=int, default=4000,
                        help='everyday chat turns added as "neither" (tweets alone teach that any non-tweet is suspect)')
    parser.add_argument('--reply-only', type=float, default=1.0,
                        help='fraction of DiaSafety rows also given with no context (the plugin judges every reply alone too)')
    parser.add_argument('--neutral-swaps', type=int, default=6000,
                        help='DiaSafety replies given after an everyday chat message instead of their own context')
    parser.add_argument('--answer-swaps', type=int, default=3000,
                        help='Risk Ignorance and Toxicity Agreement replies (agreement, reassurance) after an everyday chat message, as safe (without them, harmless agreement in everyday chat is rejected: 3.3%% of benign candidates)')
    parser.add_argument('--synthetic', type=int, default=3000, help="examples from tools/safety/synthetic.py's templates")
    parser.add_argument('--max-false-reject', type=float, default=0.08,
                        help='false-reject rate on held-out safe responses the thresholds may reach')
    parser.add_argument('--min-precision', type=float, default=0.8,
                        help='precision the hate/offensive labels must reach on their held-out tweets and chat turns')
    parser.add_argument('--alone-weight', type=float, default=1.0,
                        help="weight of the alone view's F1 (kinds unsafe by themselves) beside the plugin's F1 when choosing thresholds")
    parser.add_argument('--seed', type=int, default=13)
    parser.add_argument('--out', default=OUT)
    parser.add_argument('--no-export', action='store_true', help='train and report only')
    return parser.parse_args()


def load_diasafety(split):
    with open(os.path.join(DATA, 'diasafety_%s.json' % split), encoding='utf-8') as f:
        return json.load(f)


def load_chat_negatives(count, rng):
    """Ordinary chat turns (Synthetic-Persona-Chat, SGD music/media), labelled neither hate nor offensive."""
    turns = []
    with open(os.path.join(DIALOGUE, 'synthetic-persona-chat', 'valid.csv'), encoding='utf-8') as f:
        for row in csv.DictReader(f):
            for line in row['Best Generated Conversation'].splitlines():
                _, sep, text = line.partition(':')
                if sep and text.strip():
                    turns.append(text.strip())
    with open(os.path.join(DIALOGUE, 'sgd', 'music-media-movies.jsonl'), encoding='utf-8') as f:
        for line in f:
            turns.extend(t['text'] for t in json.loads(line)['turns'])
    turns.sort()
    rng.shuffle(turns)
    return [(text, 2) for text in turns[:count]]


def chat_messages(count, rng):
    return [text for text, _ in load_chat_negatives(count, rng)]


def augmented_rows(rows, reply_only, swaps, answer_swaps, rng):
    """
    Context as a help, not a crutch: replies judged alone (context dropout) and after an everyday chat
    message. Such a reply keeps its Unsafe label only when its kind is unsafe by itself (UNSAFE_ALONE);
    an agreement is safe without the toxic message it agreed with. Synthetic hateful statements are
    unsafe alone, their look-alikes (and plain agreement) safe. Rows carry view 'alone' or 'swap' and no
    kind: the models learn their total p(unsafe) from them.
    """
    def label(row):
        return row['label'] if row['category'] in UNSAFE_ALONE else 'Safe'

    out = [{'context': '', 'response': r['response'], 'label': label(r), 'view': 'alone'} for r in rows if rng.random() < reply_only]
    messages = chat_messages(swaps + answer_swaps, rng)
    # Agreement and reassurance ("Yeah, I agree.", "That's a good point.") are unsafe only for what they
    # answer: replies of the kinds judged by their context, after an everyday message, are safe.
    answers = [r for r in rows if r['category'] not in UNSAFE_ALONE]
    for k, message in enumerate(messages):
        r = rng.choice(rows) if k < swaps else rng.choice(answers)
        out.append({'context': message, 'response': r['response'], 'label': label(r), 'view': 'swap'})
    for i, (text, hate) in enumerate(synthetic.examples(seed=rng.randrange(1 << 30), count=2000)):
        out.append({'context': messages[i % len(messages)] if i % 2 else '', 'response': text, 'label': 'Unsafe' if hate else 'Safe', 'view': 'alone'})
    return out


def synthetic_davidson(count, rng):
    """Synthetic rows for the hate/offensive labels: hateful -> class 0, profanity at nobody -> 1, the rest -> 2."""
    out = []
    for text, hate in synthetic.examples(seed=rng.randrange(1 << 30), count=count):
        profane = any(w in text.lower() for w in ('fuck', 'shit', 'damn', 'hell', 'crap', 'bloody'))
        out.append((text, 0 if hate else 1 if profane else 2))
    return out


def load_davidson(per_class, rng):
    by_class = {0: [], 1: [], 2: []}
    with open(os.path.join(DATA, 'davidson_labeled_data.csv'), encoding='utf-8') as f:
        for row in csv.DictReader(f):
            by_class[int(row['class'])].append(row['tweet'])
    out = []
    for cls, tweets in sorted(by_class.items()):
        rng.shuffle(tweets)
        for tweet in tweets[:per_class]:
            out.append((tweet, cls))
    return out


def sparse_matrix(vectors, dim):
    """Rows of {index: weight} as a sparse [rows, dim] tensor."""
    rows, cols, vals = [], [], []
    for r, vec in enumerate(vectors):
        for c, w in vec.items():
            rows.append(r)
            cols.append(c)
            vals.append(w)
    return torch.sparse_coo_tensor(torch.tensor([rows, cols], dtype=torch.long), torch.tensor(vals, dtype=torch.float32), (len(vectors), dim)).coalesce()


class RuleModel(nn.Module):
    """
    DiaSafety's unsafety depends on the kind of context (a medical question, a risky situation, a
    toxic claim...). So: p(rule c violated) = p(context is of kind c) * p(response unsafe | kind c),
    each factor linear in hashed n-grams (the context kind uses every DiaSafety row, safe or not).
    Davidson's labels (hate speech, offensive language) read the response alone.
    """

    def __init__(self, field_dim):
        super().__init__()
        self.kind = nn.Linear(field_dim, N_DIA)
        # The reply also tells its kind: judged alone (no context), an insult still reads as Offending User.
        self.kind_response = nn.Linear(field_dim, N_DIA, bias=False)
        self.unsafe_response = nn.Linear(field_dim, N_DIA)
        self.unsafe_context = nn.Linear(field_dim, N_DIA, bias=False)
        self.davidson = nn.Linear(field_dim, len(DAVIDSON_LABELS))
        for layer in (self.kind, self.kind_response, self.unsafe_response, self.unsafe_context, self.davidson):
            nn.init.zeros_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)

    def logits(self, context, response, mm):
        kind = mm(context, self.kind.weight.t()) + mm(response, self.kind_response.weight.t()) + self.kind.bias
        unsafe = mm(response, self.unsafe_response.weight.t()) + self.unsafe_response.bias + mm(context, self.unsafe_context.weight.t())
        davidson = mm(response, self.davidson.weight.t()) + self.davidson.bias
        return kind, unsafe, davidson

    def probabilities(self, context, response, mm):
        """
        Rule c's score is the probability that the response is unsafe at all, sum_k p(kind k) *
        p(unsafe | kind k), attributed to the rules in proportion to their terms: the top rule gets
        the whole probability. (A per-rule product alone under-counts when the kind is uncertain.)
        """
        kind, unsafe, davidson = self.logits(context, response, mm)
        terms = torch.softmax(kind, 1) * torch.sigmoid(unsafe)
        total = terms.sum(1, keepdim=True)
        top = terms.max(1, keepdim=True).values
        return torch.cat([total * terms / top, torch.sigmoid(davidson)], 1)

    def penalty(self):
        return sum((layer.weight ** 2).sum() for layer in (self.kind, self.kind_response, self.unsafe_response, self.unsafe_context, self.davidson))


class DenseRuleModel(nn.Module):
    """Export form: dense features [batch, 2 * fieldDim] -> probabilities [batch, labels], 0.5 = operating point."""

    def __init__(self, trained, field_dim, thresholds, alone_thresholds):
        super().__init__()
        self.trained = trained
        self.field_dim = field_dim
        self.register_buffer('shift', torch.tensor([logit(t) for t in thresholds]))
        # A reply judged alone (all context features zero) has its own operating point.
        self.register_buffer('shift_alone', torch.tensor([logit(t) for t in alone_thresholds]))

    def forward(self, features):
        context, response = features[:, :self.field_dim], features[:, self.field_dim:]
        p = self.trained.probabilities(context, response, torch.matmul).clamp(1e-6, 1 - 1e-6)
        alone = (context.abs().sum(1, keepdim=True) == 0)
        return torch.sigmoid(torch.log(p) - torch.log1p(-p) - torch.where(alone, self.shift_alone, self.shift))


class Split:
    def __init__(self, dia_rows, dav_rows):
        dim = fz.SPEC['features']['fieldDim']
        self.context = sparse_matrix([fz.field_vector(r['context']) for r in dia_rows], dim)
        self.response = sparse_matrix([fz.field_vector(r['response']) for r in dia_rows], dim)
        self.kind = torch.tensor([list(DIASAFETY_LABELS).index(r['category']) if r.get('view', 'context') == 'context' else -1 for r in dia_rows])
        self.unsafe = torch.tensor([1.0 if r['label'] == 'Unsafe' else 0.0 for r in dia_rows])
        self.dav_context = sparse_matrix([{} for _ in dav_rows], dim)
        self.dav_response = sparse_matrix([fz.field_vector(t) for t, _ in dav_rows], dim)
        self.dav_target = torch.tensor([[1.0 if c == 0 else 0.0, 1.0 if c in (0, 1) else 0.0] for _, c in dav_rows])


def train(model, data, args):
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    bce = nn.functional.binary_cross_entropy_with_logits
    for epoch in range(args.epochs):
        kind, unsafe, _ = model.logits(data.context, data.response, torch.sparse.mm)
        _, _, davidson = model.logits(data.dav_context, data.dav_response, torch.sparse.mm)
        own = data.kind >= 0
        kind_target = data.kind.clamp(min=0)
        # Rows without a kind (judged alone or after another message) teach the total p(unsafe).
        total = (torch.softmax(kind, 1) * torch.sigmoid(unsafe)).sum(1).clamp(1e-6, 1 - 1e-6)
        loss = (nn.functional.cross_entropy(kind[own], kind_target[own])
                + bce(unsafe.gather(1, kind_target[:, None])[:, 0][own], data.unsafe[own])
                + (nn.functional.binary_cross_entropy(total[~own], data.unsafe[~own]) if (~own).any() else 0)
                + bce(davidson, data.dav_target)
                + args.l2 * model.penalty())
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (epoch + 1) % 20 == 0:
            print('epoch %d loss %.4f' % (epoch + 1, loss.item()), flush=True)


# Labels of the rules judged in context only (rules.yaml `alone: false`): what a reply answers.
CONTEXT_ONLY = ['risk_ignorance', 'toxicity_agreement', 'biased_opinion']


def both_views(in_context, alone, labels):
    """Each label's probability as the plugin decides: the higher of the reply in its context and alone,
    except for the context-only labels."""
    keep = torch.tensor([label in CONTEXT_ONLY for label in labels])
    return torch.where(keep, in_context, torch.maximum(in_context, alone))


def both_ways(model, split):
    """The probabilities of each reply in its context and alone."""
    in_context = model.probabilities(split.context, split.response, torch.sparse.mm)
    alone = model.probabilities(sparse_matrix([{} for _ in range(split.context.shape[0])], split.context.shape[1]), split.response, torch.sparse.mm)
    return in_context, alone


def rejected_both_ways(in_context, alone, thresholds, alone_thresholds):
    """What the plugin rejects: any label past its threshold in context, or (labels judged alone too) alone."""
    keep = [label not in CONTEXT_ONLY for label in LABELS]
    ctx = unsafe_scores(in_context, thresholds)
    solo = unsafe_scores(alone, [t if k else 1.01 for t, k in zip(alone_thresholds, keep)])
    return [a >= 0 or b >= 0 for a, b in zip(ctx, solo)]


def choose_both_ways(in_context, alone, gold, own, max_false_reject, alone_weight, davidson_thresholds):
    """
    Thresholds for both views: one shared alone threshold for the DiaSafety labels judged alone (a
    reply without its context reads less sure, so it gets its own operating point), and the in-context
    thresholds chosen with what the alone view rejects counted. Within the false-reject budget, the
    best of: the plugin's unsafe F1 + `alone_weight` * the alone view's F1 on the kinds unsafe by
    themselves (`own`), so that a reply is judged nearly as well without its context as with it.
    """
    best = None
    for t_alone in [i / 20 for i in range(2, 20)] + [1.01]:
        alone_ts = [t_alone] * N_DIA + davidson_thresholds
        solo = rejected_both_ways(alone * 0, alone, [1.01] * len(LABELS), alone_ts)
        ts = choose_thresholds(in_context, gold, max_false_reject, davidson_thresholds, also_rejected=solo, per_label=False)
        m = confusion(rejected_both_ways(in_context, alone, ts, alone_ts), gold)
        alone_f1 = confusion([solo[i] for i in own], [gold[i] for i in own])['f1']
        q = m['f1'] + alone_weight * alone_f1 if m['falseReject'] <= max_false_reject else -1
        print('  alone threshold %.2f: plugin F1 %.3f false-reject %.3f, alone F1 (own kinds) %.3f' % (t_alone, m['f1'], m['falseReject'], alone_f1))
        if best is None or q > best[0]:
            best = (q, ts, alone_ts)
    _, _, alone_ts = best
    solo = rejected_both_ways(alone * 0, alone, [1.01] * len(LABELS), alone_ts)
    return choose_thresholds(in_context, gold, max_false_reject, davidson_thresholds, also_rejected=solo, per_label=True), alone_ts


def unsafe_scores(probs, thresholds):
    """How far each row is past its most-violated label's threshold (>= 0: rejected), over every label."""
    margins = [[p - t for p, t in zip(row, thresholds)] for row in probs.tolist()]
    return [max(row) for row in margins]


def confusion(pred, gold):
    tp = sum(1 for p, g in zip(pred, gold) if p and g)
    fp = sum(1 for p, g in zip(pred, gold) if p and not g)
    fn = sum(1 for p, g in zip(pred, gold) if not p and g)
    tn = len(gold) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    false_reject = fp / (fp + tn) if fp + tn else 0.0
    return {'precision': precision, 'recall': recall, 'f1': f1, 'falseReject': false_reject, 'tp': tp, 'fp': fp, 'fn': fn, 'tn': tn}


def choose_thresholds(probs, gold, max_false_reject, davidson_thresholds, also_rejected=None, per_label=True):
    """
    Best unsafe F1 within the false-reject budget, counting every label that rejects a candidate
    (the Davidson labels at their own thresholds too, and `also_rejected`: what another model
    running beside this one rejects): first one threshold shared by the DiaSafety labels, then
    (with `per_label`) coordinate ascent on each label's own threshold from there.
    """
    grid = [i / 100 for i in range(2, 96)]
    others = also_rejected or [False] * len(gold)

    def quality(ts):
        m = confusion([o or s >= 0 for o, s in zip(others, unsafe_scores(probs, ts))], gold)
        return m['f1'] if m['falseReject'] <= max_false_reject else -m['falseReject']

    shared = max(grid, key=lambda t: quality([t] * N_DIA + davidson_thresholds))
    thresholds = [shared] * N_DIA + davidson_thresholds
    best = quality(thresholds)
    for _ in range(3 if per_label else 0):
        for label in range(N_DIA):
            for t in grid:
                trial = list(thresholds)
                trial[label] = t
                q = quality(trial)
                if q > best + 1e-9:
                    best, thresholds = q, trial
    return thresholds


def best_f1_threshold(scores, gold, min_precision):
    """Best F1 among thresholds precise enough to act on (a refusal must rarely be wrong)."""
    best = (-1.0, 0.95)
    for t in [i / 100 for i in range(5, 96)]:
        m = confusion([s >= t for s in scores], gold)
        if m['precision'] >= min_precision and m['f1'] > best[0]:
            best = (m['f1'], t)
    return best[1]


def logit(p):
    return math.log(p / (1 - p))


def export(model, thresholds, alone_thresholds, args, holdout_metrics):
    os.makedirs(args.out, exist_ok=True)
    field_dim = fz.SPEC['features']['fieldDim']
    dim = field_dim * len(fz.SPEC['features']['fields'])
    dense = DenseRuleModel(model, field_dim, thresholds, alone_thresholds)
    dense.eval()
    torch.onnx.export(dense, torch.zeros(1, dim), os.path.join(args.out, 'model.onnx'),
                      input_names=['features'], output_names=['probabilities'],
                      dynamic_axes={'features': {0: 'batch'}, 'probabilities': {0: 'batch'}}, opset_version=13)
    config = {
        'name': 'banter-safety-rules',
        'input': 'features',
        'output': 'probabilities',
        'labels': LABELS,
        'labelToRule': LABEL_TO_RULE,
        'operatingPoint': 0.5,
        'thresholdsBeforeShift': dict(zip(LABELS, thresholds)),
        'aloneThresholdsBeforeShift': dict(zip(LABELS, alone_thresholds)),
        'featurizer': fz.SPEC,
        'training': {'args': {k: v for k, v in vars(args).items() if k not in ('out', 'no_export')}, 'holdout': holdout_metrics},
    }
    write_json(os.path.join(args.out, 'config.json'), config, 2)
    parity = []
    with torch.no_grad():
        for context, response in PARITY_STRINGS:
            feats = fz.featurize(context, response)
            vec = torch.zeros(1, dim)
            for i, w in feats.items():
                vec[0, i] = w
            parity.append({
                'context': context, 'response': response,
                'normalizedResponse': fz.normalize(response), 'lightResponse': fz.normalize_light(response),
                'features': [[i, feats[i]] for i in sorted(feats)],
                'probabilities': dense(vec)[0].tolist(),
            })
    write_json(os.path.join(args.out, 'parity.json'), parity, 1)
    print('wrote', os.path.relpath(args.out, ROOT), '(model.onnx, config.json, parity.json)')


def split_data(args):
    """DiaSafety train and the Davidson + chat rows, each split 90/10 into (train, holdout) by one seeded rng."""
    rng = random.Random(args.seed)
    rows = load_diasafety('train')
    rng.shuffle(rows)
    n_hold = len(rows) // 10
    davidson = load_davidson(args.davidson_per_class, rng) + load_chat_negatives(args.chat_negatives, rng) + synthetic_davidson(args.synthetic, rng)
    rng.shuffle(davidson)
    n_dav_hold = len(davidson) // 10
    return (rows[n_hold:], rows[:n_hold]), (davidson[n_dav_hold:], davidson[:n_dav_hold])


def train_rule_model(args, train_rows, dav_train):
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    model = RuleModel(fz.SPEC['features']['fieldDim'])
    augmented = augmented_rows(train_rows, args.reply_only, args.neutral_swaps, args.answer_swaps, random.Random(args.seed + 1))
    train(model, Split(train_rows + augmented, dav_train), args)
    return model


def write_json(path, value, indent):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(value, f, indent=indent, ensure_ascii=False)
        f.write('\n')


def main():
    args = parse_args()
    (train_rows, holdout_rows), (dav_train, dav_hold) = split_data(args)
    print('diasafety train %d holdout %d; davidson + chat train %d holdout %d' % (len(train_rows), len(holdout_rows), len(dav_train), len(dav_hold)), flush=True)
    model = train_rule_model(args, train_rows, dav_train)

    hold = Split(holdout_rows, dav_hold)
    with torch.no_grad():
        # The plugin judges each reply in its context and alone, and rejects when either view does.
        in_context, alone = both_ways(model, hold)
        dav_probs = model.probabilities(hold.dav_context, hold.dav_response, torch.sparse.mm)
    gold = [r['label'] == 'Unsafe' for r in holdout_rows]
    hate_gold = [c == 0 for _, c in dav_hold]
    offensive_gold = [c in (0, 1) for _, c in dav_hold]
    davidson_thresholds = [best_f1_threshold(dav_probs[:, N_DIA].tolist(), hate_gold, args.min_precision),
                           best_f1_threshold(dav_probs[:, N_DIA + 1].tolist(), offensive_gold, args.min_precision)]
    # The Davidson labels feed flag-only rules (hateful_language, toxic_language): they reject nothing.
    own = [i for i, r in enumerate(holdout_rows) if r['category'] in UNSAFE_ALONE]
    thresholds, alone_thresholds = choose_both_ways(in_context, alone, gold, own, args.max_false_reject, args.alone_weight, [1.01, 1.01])
    thresholds[N_DIA:], alone_thresholds[N_DIA:] = davidson_thresholds, davidson_thresholds
    rejecting = thresholds[:N_DIA] + [1.01, 1.01]
    metrics = confusion(rejected_both_ways(in_context, alone, rejecting, alone_thresholds[:N_DIA] + [1.01, 1.01]), gold)
    solo = rejected_both_ways(in_context * 0, alone, [1.01] * len(LABELS), alone_thresholds[:N_DIA] + [1.01, 1.01])
    metrics['aloneOnly'] = confusion(solo, gold)
    metrics['aloneOnlyUnsafeAloneKinds'] = confusion([solo[i] for i in own], [gold[i] for i in own])
    in_context_only = rejected_both_ways(in_context, alone * 0, rejecting, [1.01] * len(LABELS))
    metrics['inContextOnlyUnsafeAloneKinds'] = confusion([in_context_only[i] for i in own], [gold[i] for i in own])
    metrics['pluginUnsafeAloneKinds'] = confusion([rejected_both_ways(in_context, alone, rejecting, alone_thresholds[:N_DIA] + [1.01, 1.01])[i] for i in own], [gold[i] for i in own])
    dav_metrics = {
        'hate_speech': confusion([p >= thresholds[N_DIA] for p in dav_probs[:, N_DIA].tolist()], hate_gold),
        'offensive_language': confusion([p >= thresholds[N_DIA + 1] for p in dav_probs[:, N_DIA + 1].tolist()], offensive_gold),
    }
    print('thresholds', {k: round(v, 3) for k, v in zip(LABELS, thresholds)}, 'alone', {k: round(v, 3) for k, v in zip(LABELS, alone_thresholds)})
    print('holdout unsafe: P %.3f R %.3f F1 %.3f false-reject %.3f' % (metrics['precision'], metrics['recall'], metrics['f1'], metrics['falseReject']))
    for name in ('aloneOnly', 'aloneOnlyUnsafeAloneKinds', 'inContextOnlyUnsafeAloneKinds', 'pluginUnsafeAloneKinds'):
        print('holdout %s: F1 %.3f false-reject %.3f' % (name, metrics[name]['f1'], metrics[name]['falseReject']))
    for name, m in dav_metrics.items():
        print('davidson + chat holdout %s: P %.3f R %.3f F1 %.3f' % (name, m['precision'], m['recall'], m['f1']))
    if not args.no_export:
        export(model, thresholds, alone_thresholds, args, {'diasafety': metrics, 'davidson': dav_metrics})


if __name__ == '__main__':
    main()
