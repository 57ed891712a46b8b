"""Text normalization and hashed n-gram features for banter's safety rule model.

The same algorithm is implemented in TypeScript (plugins/safety/featurize.ts and normalize.ts);
every table and size comes from the spec written into models/safety-rules/config.json, so the
two implementations cannot drift apart silently (a parity test compares them on fixed strings).
"""
import math
import unicodedata

ZERO_WIDTH = [0x00AD, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xFEFF]

# Cyrillic and Greek letters that look like Latin ones (after lower-casing); NFKC does not fold them.
HOMOGLYPHS = {
    'а': 'a', 'в': 'b', 'е': 'e', 'ё': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c',
    'т': 't', 'у': 'y', 'х': 'x', 'ѕ': 's', 'і': 'i', 'ї': 'i', 'ј': 'j', 'ԁ': 'd', 'ɡ': 'g', 'ӏ': 'l',
    'ԛ': 'q', 'ԝ': 'w', 'һ': 'h', 'ь': 'b', 'п': 'n', 'г': 'r', 'д': 'd', 'и': 'u', 'л': 'n', 'ш': 'w',
    'α': 'a', 'β': 'b', 'γ': 'y', 'ε': 'e', 'η': 'n', 'ι': 'i', 'κ': 'k', 'μ': 'u', 'ν': 'v', 'ο': 'o',
    'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x', 'ω': 'w', 'ς': 's', 'σ': 'o', 'ϲ': 'c', 'ɑ': 'a', 'ı': 'i',
}

# Leetspeak: digits map inside a token that has a letter; symbols only when a letter follows.
LEET_DIGITS = {'0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g'}
LEET_SYMBOLS = {'@': 'a', '$': 's', '!': 'i', '|': 'l', '+': 't', '€': 'e'}
SPACED_SEPARATORS = '.-_*'

SPEC = {
    'normalize': {
        'form': 'NFKC',
        'stripCombiningMarks': True,
        'zeroWidth': ZERO_WIDTH,
        'homoglyphs': HOMOGLYPHS,
        'leetDigits': LEET_DIGITS,
        'leetSymbols': LEET_SYMBOLS,
        'spacedSeparators': SPACED_SEPARATORS,
        'minSpacedRun': 3,
        'minRepeatRun': 3,
    },
    'features': {
        'hash': 'fnv1a32-utf8',
        'fieldDim': 16384,
        'fields': ['context', 'response'],
        'wordNgrams': [1, 2],
        'charNgrams': [3, 5],
        'weighting': 'log1p-then-l2-per-field',
        'keepSymbols': '?!',
    },
}


def normalize_light(text):
    """Unicode-level folding: keeps case, digits and punctuation (for pattern detectors)."""
    spec = SPEC['normalize']
    text = unicodedata.normalize('NFKC', text)
    zero = set(spec['zeroWidth'])
    text = ''.join(ch for ch in text if ord(ch) not in zero)
    decomposed = unicodedata.normalize('NFD', text)
    text = unicodedata.normalize('NFC', ''.join(ch for ch in decomposed if unicodedata.category(ch) != 'Mn'))
    out = []
    for ch in text:
        low = ch.lower()
        mapped = spec['homoglyphs'].get(low)
        if mapped is None:
            out.append(ch)
        else:
            out.append(mapped.upper() if ch != low else mapped)
    return ''.join(out)


def _is_ascii_letter(ch):
    return 'a' <= ch <= 'z'


def _is_ascii_alnum(ch):
    return 'a' <= ch <= 'z' or '0' <= ch <= '9'


def _join_separated_letters(token, separators):
    """'f.u.c.k' -> 'fuck': single alphanumerics separated by one repeated separator."""
    if len(token) < 5 or len(token) % 2 == 0:
        return token
    sep = token[1]
    if sep not in separators:
        return token
    for i, ch in enumerate(token):
        if i % 2 == 0 and not _is_ascii_alnum(ch):
            return token
        if i % 2 == 1 and ch != sep:
            return token
    return token[0::2]


def _join_spaced_runs(tokens, min_run):
    """'s p a c e d' -> 'spaced': runs of single-character tokens."""
    out = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and len(tokens[j]) == 1 and _is_ascii_alnum(tokens[j]):
            j += 1
        if j - i >= min_run:
            out.append(''.join(tokens[i:j]))
            i = j
        else:
            out.append(tokens[i])
            i += 1
    return out


def _unleet(token, digits, symbols):
    if not any(_is_ascii_letter(ch) for ch in token):
        return token
    out = []
    for i, ch in enumerate(token):
        if ch in digits:
            out.append(digits[ch])
        elif ch in symbols and i + 1 < len(token) and _is_ascii_letter(token[i + 1]):
            out.append(symbols[ch])
        else:
            out.append(ch)
    return ''.join(out)


def _collapse_repeats(token, min_run):
    out = []
    i = 0
    while i < len(token):
        j = i
        while j < len(token) and token[j] == token[i]:
            j += 1
        out.append(token[i] if j - i >= min_run else token[i:j])
        i = j
    return ''.join(out)


def normalize(text):
    """Full normalization against evasion, applied before the rule model and lexicons."""
    spec = SPEC['normalize']
    tokens = normalize_light(text).lower().split()
    tokens = [_join_separated_letters(t, spec['spacedSeparators']) for t in tokens]
    tokens = _join_spaced_runs(tokens, spec['minSpacedRun'])
    tokens = [_unleet(t, spec['leetDigits'], spec['leetSymbols']) for t in tokens]
    tokens = [_collapse_repeats(t, spec['minRepeatRun']) for t in tokens]
    return ' '.join(tokens)


def words(normalized):
    """Word tokens: runs of [a-z0-9'], plus the symbols in keepSymbols as their own tokens."""
    keep = SPEC['features']['keepSymbols']
    out = []
    current = []
    for ch in normalized:
        if _is_ascii_alnum(ch) or ch == "'":
            current.append(ch)
            continue
        if current:
            out.append(''.join(current))
            current = []
        if ch in keep:
            out.append(ch)
    if current:
        out.append(''.join(current))
    return out


def fnv1a32(text):
    h = 0x811C9DC5
    for byte in text.encode('utf-8'):
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def feature_strings(text):
    spec = SPEC['features']
    toks = words(normalize(text))
    feats = []
    lo_w, hi_w = spec['wordNgrams']
    for n in range(lo_w, hi_w + 1):
        for i in range(len(toks) - n + 1):
            feats.append('w%d:%s' % (n, ' '.join(toks[i:i + n])))
    lo_c, hi_c = spec['charNgrams']
    for tok in toks:
        padded = '<' + tok + '>'
        for n in range(lo_c, hi_c + 1):
            for i in range(len(padded) - n + 1):
                feats.append('c:' + padded[i:i + n])
    return feats


def field_vector(text):
    """Sparse {index: weight} for one field: log1p counts, L2-normalized."""
    dim = SPEC['features']['fieldDim']
    counts = {}
    for feat in feature_strings(text):
        idx = fnv1a32(feat) % dim
        counts[idx] = counts.get(idx, 0) + 1
    weights = {i: math.log1p(c) for i, c in counts.items()}
    norm = math.sqrt(sum(w * w for w in weights.values()))
    if norm == 0:
        return {}
    return {i: w / norm for i, w in weights.items()}


def featurize(context, response):
    """Sparse {index: weight} over all fields (context first, then response)."""
    dim = SPEC['features']['fieldDim']
    out = {}
    for offset, text in ((0, context), (dim, response)):
        for i, w in field_vector(text).items():
            out[offset + i] = w
    return out
