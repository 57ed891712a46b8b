"""Builds test/fixtures/tiny-bert-classifier: a BERT-style sequence classifier folder for the tests.

It has what a fine-tuned DistilBERT/BERT export has and banter's own rule models do not: a WordPiece
tokenizer whose pair template is [CLS] A [SEP] B [SEP] with segment ids, an ONNX model that reads
`token_type_ids`, and single-label (softmax) logits. The weights are not trained: each word carries
a fixed vote per label, doubled when it appears in the reply (segment 1), so a test can predict
the outcome. `expected.json` holds the ids and probabilities this script computes.

    /usr/bin/python3 tools/safety/make_pair_fixture.py [--out DIR]
"""
import argparse
import json
import os

import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'tiny-bert-classifier')

SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]']
WORDS = ['you', 'are', 'an', 'idiot', 'hello', 'friend', 'take', 'pills', 'the', 'doctor', 'says', 'ask', 'your', 'i', 'agree', '##s', '!', '?', '.', ',']
LABELS = ['ok', 'insult', 'medical']
# Votes per word: [ok, insult, medical].
VOTES = {'idiot': [0, 3, 0], 'hello': [2, 0, 0], 'friend': [2, 0, 0], 'pills': [0, 0, 3], 'doctor': [1, 0, 1]}
MAX_LENGTH = 16
CASES = [
    ('hello friend', 'you are an idiot!'),
    ('you are an idiot', 'hello friend'),
    ('my head hurts', 'take the pills'),
    ('one two three four five six seven eight nine ten hello', 'hello friend ask your doctor about the pills you take'),
]


class VoteClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        vocab = len(SPECIALS) + len(WORDS)
        self.votes = nn.Embedding(vocab, len(LABELS))
        with torch.no_grad():
            self.votes.weight.zero_()
            for word, vote in VOTES.items():
                self.votes.weight[len(SPECIALS) + WORDS.index(word)] = torch.tensor(vote, dtype=torch.float32)

    def forward(self, input_ids, attention_mask, token_type_ids):
        weight = (attention_mask * (1 + token_type_ids)).unsqueeze(-1).float()
        return (self.votes(input_ids) * weight).sum(1)


def tokenizer_json():
    vocab = {token: i for i, token in enumerate(SPECIALS + WORDS)}
    special = lambda token, type_id: {'SpecialToken': {'id': token, 'type_id': type_id}}
    sequence = lambda name, type_id: {'Sequence': {'id': name, 'type_id': type_id}}
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [{'id': vocab[t], 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True} for t in SPECIALS],
        'normalizer': {'type': 'BertNormalizer', 'clean_text': True, 'handle_chinese_chars': True, 'strip_accents': None, 'lowercase': True},
        'pre_tokenizer': {'type': 'BertPreTokenizer'},
        'post_processor': {
            'type': 'TemplateProcessing',
            'single': [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
            'pair': [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
            'special_tokens': {t: {'id': t, 'ids': [vocab[t]], 'tokens': [t]} for t in ('[CLS]', '[SEP]')},
        },
        'decoder': {'type': 'WordPiece', 'prefix': '##', 'cleanup': True},
        'model': {'type': 'WordPiece', 'unk_token': '[UNK]', 'continuing_subword_prefix': '##', 'max_input_chars_per_word': 100, 'vocab': vocab},
    }


def encode(text):
    """The WordPiece of this tiny vocabulary: whole words, punctuation split off, else [UNK]."""
    ids = []
    for word in text.lower().replace('!', ' ! ').replace('?', ' ? ').split():
        ids.append(len(SPECIALS) + WORDS.index(word) if word in WORDS else SPECIALS.index('[UNK]'))
    return ids


def pair(context, response, max_context, max_response):
    c, r = encode(context)[-max_context:], encode(response)[:max_response]
    ids = [2] + c + [3] + r + [3]
    return ids, [0] * (len(c) + 2) + [1] * (len(r) + 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', default=OUT)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    model = VoteClassifier().eval()
    sample = torch.tensor([[2, 4, 3, 5, 3]])
    torch.onnx.export(model, (sample, torch.ones_like(sample), torch.zeros_like(sample)), os.path.join(args.out, 'model.onnx'),
                      input_names=['input_ids', 'attention_mask', 'token_type_ids'], output_names=['logits'],
                      dynamic_axes={name: {0: 'batch', 1: 'sequence'} for name in ('input_ids', 'attention_mask', 'token_type_ids')} | {'logits': {0: 'batch'}},
                      opset_version=14)
    with open(os.path.join(args.out, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(tokenizer_json(), f, indent=1)
    with open(os.path.join(args.out, 'tokenizer_config.json'), 'w', encoding='utf-8') as f:
        json.dump({'model_max_length': MAX_LENGTH, 'tokenizer_class': 'BertTokenizer', 'pad_token': '[PAD]', 'do_lower_case': True}, f, indent=2)
    config = {
        'model_type': 'bert',
        'architectures': ['BertForSequenceClassification'],
        'problem_type': 'single_label_classification',
        'id2label': {str(i): label for i, label in enumerate(LABELS)},
        'label2id': {label: i for i, label in enumerate(LABELS)},
        'max_position_embeddings': MAX_LENGTH,
    }
    with open(os.path.join(args.out, 'config.json'), 'w', encoding='utf-8') as f:
        json.dump(config, f, indent=2)
    # The plugin's default budget: the window less 4 special tokens, half for the reply.
    budget = MAX_LENGTH - 4
    expected = []
    with torch.no_grad():
        for context, response in CASES:
            ids, types = pair(context, response, budget - budget // 2, budget // 2)
            t = torch.tensor([ids])
            probs = torch.softmax(model(t, torch.ones_like(t), torch.tensor([types])), 1)[0]
            expected.append({'context': context, 'response': response, 'inputIds': ids, 'tokenTypeIds': types, 'probabilities': probs.tolist()})
    with open(os.path.join(args.out, 'expected.json'), 'w', encoding='utf-8') as f:
        json.dump(expected, f, indent=1)
    print('wrote', os.path.relpath(args.out, ROOT))


if __name__ == '__main__':
    main()
