"""Writes plugins/safety/words.txt: the English words the evasion folder (plugins/safety/evasion.ts) may read a
disguised token as, with how often each occurs in everyday chat.

    /usr/bin/python3 tools/safety/make_words.py

Counts lower-cased words in Topical-Chat, Synthetic-Persona-Chat, Schema-Guided Dialogue and DiaSafety (../shared/data,
never copied: only this word list is derived) and keeps those seen at least --min-count times, plus every word
of the safety lexicons (plugins/safety/lexicons.yaml), which must be readable even when rare in chat.
"""
import argparse
import collections
import csv
import glob
import json
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DIALOGUE = os.path.join(ROOT, '..', 'shared', 'data', 'dialogue')
SAFETY = os.path.join(ROOT, '..', 'shared', 'data', 'safety')
OUT = os.path.join(ROOT, 'plugins', 'safety', 'words.txt')
LEXICONS = os.path.join(ROOT, 'plugins', 'safety', 'lexicons.yaml')
WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def chat_texts():
    for path in sorted(glob.glob(os.path.join(DIALOGUE, 'topical-chat', '*.json'))):
        with open(path, encoding='utf-8') as f:
            for conversation in json.load(f).values():
                for turn in conversation['content']:
                    yield turn['message']
    with open(os.path.join(DIALOGUE, 'synthetic-persona-chat', 'valid.csv'), encoding='utf-8') as f:
        for row in csv.DictReader(f):
            yield row['Best Generated Conversation']
    with open(os.path.join(DIALOGUE, 'sgd', 'music-media-movies.jsonl'), encoding='utf-8') as f:
        for line in f:
            for turn in json.loads(line)['turns']:
                yield turn['text']
    for split in ('train',):
        with open(os.path.join(SAFETY, 'diasafety_%s.json' % split), encoding='utf-8') as f:
            for row in json.load(f):
                yield row['context']
                yield row['response']


def lexicon_words():
    """Every word in the lexicon file's term lists (a plain scan: the file is YAML lists of strings)."""
    with open(LEXICONS, encoding='utf-8') as f:
        return set(WORD.findall(f.read().lower()))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--min-count', type=int, default=3)
    args = parser.parse_args()
    counts = collections.Counter()
    for text in chat_texts():
        counts.update(WORD.findall(text.lower().replace('\u2019', "'")))
    keep = {w: c for w, c in counts.items() if c >= args.min_count and (len(w) > 1 or w in ('a', 'i'))}
    for word in lexicon_words():
        keep.setdefault(word, args.min_count)
    with open(OUT, 'w', encoding='utf-8') as f:
        f.write('# word<TAB>count in everyday chat; made by tools/safety/make_words.py (see NOTICE)\n')
        for word, count in sorted(keep.items(), key=lambda item: (-item[1], item[0])):
            f.write('%s\t%d\n' % (word, count))
    print('wrote %s: %d words' % (os.path.relpath(OUT, ROOT), len(keep)))


if __name__ == '__main__':
    main()
