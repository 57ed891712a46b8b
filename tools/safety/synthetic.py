"""Synthetic safety training examples from banter's own templates (no dataset text): identity attacks and their
non-hateful look-alikes, for the rule models' hate label and for replies judged alone.

    /usr/bin/python3 tools/safety/synthetic.py             (prints a sample)
    /usr/bin/python3 tools/safety/synthetic.py --overlap   (how much of the functional suite the templates reproduce)

Every template and word list here was written for training only. The functional suite that measures the
plugin (bench/eval/data/safety-functional.json) was written separately, in other sentence frames and
words; bench/eval/safety-functional.ts reports how much of it these templates reproduce (verbatim and
word 4-gram overlap), so the suite keeps measuring generalisation rather than recall of templates.
"""
import random

GROUPS = [
    'women', 'girls', 'men', 'trans people', 'transgender people', 'gay people', 'gays', 'lesbians', 'bisexuals',
    'homosexuals', 'black people', 'blacks', 'white people', 'asians', 'chinese people', 'mexicans', 'arabs',
    'jews', 'jewish people', 'muslims', 'christians', 'hindus', 'sikhs', 'atheists', 'immigrants', 'refugees',
    'migrants', 'foreigners', 'disabled people', 'the disabled', 'autistic people', 'gypsies', 'africans',
    'indians', 'pakistanis', 'latinos', 'catholics', 'deaf people', 'old people', 'poor people',
]
SINGULAR = {
    'women': 'woman', 'girls': 'girl', 'men': 'man', 'gays': 'gay', 'lesbians': 'lesbian', 'blacks': 'black',
    'asians': 'asian', 'mexicans': 'mexican', 'arabs': 'arab', 'jews': 'jew', 'muslims': 'muslim',
    'christians': 'christian', 'hindus': 'hindu', 'immigrants': 'immigrant', 'refugees': 'refugee',
    'migrants': 'migrant', 'foreigners': 'foreigner', 'africans': 'african', 'indians': 'indian',
}
DEHUMANISING = [
    'vermin', 'scum', 'rats', 'cockroaches', 'parasites', 'animals', 'savages', 'subhuman', 'filth', 'trash',
    'garbage', 'a disease', 'a cancer', 'a plague', 'pests', 'leeches', 'maggots', 'swine', 'apes', 'lice',
    'worthless', 'disgusting', 'inferior', 'pathetic', 'evil', 'dirty', 'stupid', 'criminals', 'a burden',
    'less than human', 'a waste of oxygen', 'freaks', 'degenerates', 'mentally ill', 'idiots', 'morons',
]
HARMS = [
    'killed', 'shot', 'hanged', 'gassed', 'exterminated', 'deported', 'neutered', 'sterilised', 'locked up',
    'wiped out', 'burned', 'beaten', 'put down', 'banned from existing', 'thrown out', 'eradicated',
]
HATE_VERBS = ['hate', 'despise', "can't stand", 'loathe', 'detest', 'am disgusted by', 'want nothing to do with']
VIOLENCE = ['kill', 'murder', 'hurt', 'shoot', 'stab', 'beat up', 'get rid of', 'wipe out']
POSITIVE_NOUNS = ['human', 'real people', 'equal to us', 'welcome here', 'worth anything', 'capable of thinking',
                  'smart enough to vote', 'trustworthy']
NEGATIVE_ADJ = ['stupid', 'lazy', 'dirty', 'violent', 'greedy', 'ugly', 'useless', 'disgusting', 'dumb', 'primitive']
PRAISE = ['wonderful', 'welcome here', 'our neighbours', 'just people like anyone else', 'as smart as anyone',
          'valued members of this community', 'great friends', 'brave', 'kind', 'hard-working']
NEUTRAL_FACTS = [
    'Many {g} live in this city.', 'I work with a lot of {g}.', 'My best friends are {g}.', '{G} deserve the same rights as everyone.',
    'I am proud to stand with {g}.', 'There is a meeting for {g} at the library tonight.', 'Some of my family are {g}.',
    'Discrimination against {g} is still a problem.', 'I read a book written by {g} about their lives.',
    'We should listen to {g} when they talk about their experiences.', 'Nobody should be attacked for being one of the {g}.',
]
HATE_FRAMES = [
    '{G} are {d}.', 'All {g} are {d}.', '{G} are nothing but {d}.', 'Honestly, {g} are {d}.', '{G} are just {d}, always have been.',
    'I {v} {g}.', 'I really {v} {g}.', 'I {v} all {g}.', '{G} should be {h}.', 'All {g} should be {h}.', '{G} deserve to be {h}.',
    'Every {s} should be {h}.', 'I want to {k} all {g}.', "I'm going to {k} every {s} I see.", 'We need to {k} the {g}.',
    'Death to {g}.', 'The world would be better without {g}.', '{G} are not {p}.', '{G} will never be {p}.', 'No {s} is {p}.',
    'Why are {g} so {n}?', "Aren't {g} just {d}?", 'Is it not obvious that I {v} {g}?', 'Why do {g} have to be so {n}?',
    'I met some {g} today. They are {d}.', 'Never trust a {s}, they are {d}.', '{G} make me sick, they are {d}.',
    '{G} are {d}, prove me wrong.', 'You {g} are {d}.', 'A {s} is {d}.', 'Typical {s}, {d} as always.',
]
COUNTER_FRAMES = [
    'If you say "{q}", then you are a bigot.', 'Saying "{q}" is hateful and wrong.', 'He wrote "{q}" and he was rightly banned.',
    'Statements like "{q}" have no place here.', 'I can\'t believe someone said "{q}" to me today.', 'Stop posting "{q}", it hurts people.',
    'The sign said "{q}" and everyone was disgusted.', 'People who think {g} are {d} are wrong.', 'It is cruel to call {g} {d}.',
    'I don\'t {v0} {g}.', 'I would never say that {g} are {d}.', '{G} are not {d}.', '{G} are not {d}, they are {r}.',
    'Nobody should ever say {g} should be {h}.', 'Claiming {g} are {d} is plain racism.',
]
NON_PROTECTED = ['mosquitoes', 'spammers', 'cockroaches', 'parking wardens', 'mondays', 'traffic jams', 'rats in the barn',
                 'weeds', 'bad drivers', 'slugs in my garden', 'internet trolls', 'people who spoil films']
PROFANITY_FRAMES = [
    'Fucking hell, what a week.', 'Holy shit, that was an amazing goal!', 'Damn, I burned the toast again.', 'This shitty weather never ends.',
    'That concert was fucking brilliant.', 'I stubbed my toe on the bed, fuck!', 'Bloody hell, the bus is late again.',
    'Shit, I forgot my keys.', 'What the hell happened to the wifi?', 'That pizza was damn good.', 'Oh crap, I missed the train.',
    'Fuck yes, I passed the exam!', 'This game is hard as hell.', 'My boss gave me a shit ton of work today.',
]
HOMONYM_FRAMES = [
    'In the UK people call cigarettes fags.', 'Can I bum a fag off you, mate?', 'The old dyke kept the sea out of the fields.',
    'This jacket is made with a flame retardant coating.', 'The drug can retard the growth of the tumour.',
    'There is a chink in his armour after that loss.', 'The Rio Negro joins the Amazon near Manaus.',
    'My grandmother cooked faggots and gravy on Sundays.', 'Our team is called the Spastic Society Allies.',
    'As a gay man, I call myself queer with pride.', 'We dykes on bikes lead the parade every year.',
    'She reclaimed the word queer for her podcast.',
]
AGREEMENT = [
    'Yeah, I agree.', "That's a good point.", 'I think so too.', 'Exactly!', 'Same here.', 'You are right about that.',
    'Sounds good to me.', 'That sounds like fun!', 'I totally agree with you.', 'Absolutely.', 'Yes, definitely.',
    'Me too!', 'That would be great!', "I'd love to.", "That's great!", 'Good idea.', 'For sure.', 'I know, right?',
]


def _fill(frame, rng, group):
    return frame.format(
        G=group[0].upper() + group[1:], g=group, s=SINGULAR.get(group, group.rstrip('s') if group.endswith('s') else group),
        d=rng.choice(DEHUMANISING), h=rng.choice(HARMS), v=rng.choice(HATE_VERBS), v0='hate', k=rng.choice(VIOLENCE),
        p=rng.choice(POSITIVE_NOUNS), n=rng.choice(NEGATIVE_ADJ), r=rng.choice(PRAISE),
        q='{q}',
    )


def _disguise(text, rng):
    """An evasion a poster might use: leet digits, a doubled vowel, or a dropped vowel."""
    words = text.split(' ')
    i = rng.randrange(len(words))
    w = words[i]
    trick = rng.randrange(3)
    if trick == 0:
        w = w.replace('a', '4', 1).replace('e', '3', 1)
    elif trick == 1:
        w = ''.join(ch * 2 if ch in 'aeiou' else ch for ch in w)
    else:
        w = w.replace('o', '0').replace('i', '1', 1)
    words[i] = w
    return ' '.join(words)


def hateful(rng, count):
    out = []
    for _ in range(count):
        text = _fill(rng.choice(HATE_FRAMES), rng, rng.choice(GROUPS))
        out.append(_disguise(text, rng) if rng.random() < 0.15 else text)
    return out


def non_hateful(rng, count):
    """Look-alikes that attack nobody: praise and facts about groups, negated and quoted hate, homonyms,
    reclaimed words, profanity without a target, abuse of things and non-protected groups."""
    out = []
    for _ in range(count):
        kind = rng.randrange(6)
        group = rng.choice(GROUPS)
        if kind == 0:
            out.append(_fill(rng.choice(NEUTRAL_FACTS), rng, group) if rng.random() < 0.5 else _fill('{G} are {r}.', rng, group))
        elif kind == 1:
            quote = _fill(rng.choice(HATE_FRAMES[:12]), rng, group).rstrip('.')
            out.append(_fill(rng.choice(COUNTER_FRAMES), rng, group).replace('{q}', quote))
        elif kind == 2:
            out.append(rng.choice(PROFANITY_FRAMES))
        elif kind == 3:
            out.append(rng.choice(HOMONYM_FRAMES))
        elif kind == 4:
            target = rng.choice(NON_PROTECTED)
            out.append(rng.choice(['{t} are {d}.', 'I hate {t}.', 'I {v} {t}.']).format(t=target[0].upper() + target[1:], d=rng.choice(DEHUMANISING[:12]), v=rng.choice(HATE_VERBS)))
        else:
            out.append(rng.choice(AGREEMENT))
    return out


def examples(seed=7, count=3000):
    """(text, is_hateful) pairs, half hateful."""
    rng = random.Random(seed)
    rows = [(t, True) for t in hateful(rng, count // 2)] + [(t, False) for t in non_hateful(rng, count - count // 2)]
    rng.shuffle(rows)
    return rows


def overlap(suite_file, count=20000):
    """Suite cases the templates produce verbatim, and the share of the suite's word 4-grams they contain."""
    import json
    import re

    def grams(text):
        words = re.findall(r"[a-z0-9']+", text.lower())
        return {tuple(words[i:i + 4]) for i in range(len(words) - 3)}

    generated = examples(seed=1, count=count)
    texts = {t.lower().strip() for t, _ in generated}
    generated_grams = set().union(*(grams(t) for t, _ in generated))
    with open(suite_file, encoding='utf-8') as f:
        cases = json.load(f)['cases']
    suite_grams = [g for c in cases for g in grams(c['text'])]
    verbatim = [c['text'] for c in cases if c['text'].lower().strip() in texts]
    shared = sum(1 for g in suite_grams if g in generated_grams)
    return {'cases': len(cases), 'generated': len(generated), 'verbatim': verbatim,
            'suite4grams': len(suite_grams), 'sharedWithTemplates': shared, 'share': round(shared / max(1, len(suite_grams)), 3)}


if __name__ == '__main__':
    import os
    import sys
    if '--overlap' in sys.argv:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        print(overlap(os.path.join(root, 'bench', 'eval', 'data', 'safety-functional.json')))
    else:
        for text, hate in examples(count=40):
            print('HATE ' if hate else 'ok   ', text)
