"""One pass over a record's text that says which ingest checks it needs.

Every record is screened for: words that each secret pattern but the phone one needs
(`redact.SHAPED_WORDS`), labels the password pattern needs (`redact.LABEL_WORDS`), the digit shapes
a phone number needs (`redact.PHONE_SHAPES`, "+0"), and cues of instruction-like text
(`untrusted.CUES`). Testing each with `in` is a scan per word, about 50 scans of every line; an
Aho-Corasick automaton (pyahocorasick, C) finds them all in one scan of the digit-shaped,
lower-cased text (no word holds a digit, so shaping digits hides none). The answers are exactly
those of testing each word with `in` (a test does that on generated text and compares).
"""

from __future__ import annotations

import ahocorasick

from tools.redact import LABEL_WORDS, LABELLED, PHONE_SHAPES, SHAPED_WORDS, digit_shapes, has_other_digits, international_at
from tools.untrusted import CUES

_SHAPED, _LABEL, _CUE, _PHONE, _PLUS = 1, 2, 4, 8, 16


def _automaton() -> ahocorasick.Automaton:
    kinds: dict[str, int] = {}
    groups = ((SHAPED_WORDS, _SHAPED), (LABEL_WORDS, _LABEL), (CUES, _CUE), (PHONE_SHAPES, _PHONE), (("+0",), _PLUS))
    for words, kind in groups:
        for w in words:
            kinds[w] = kinds.get(w, 0) | kind
    auto = ahocorasick.Automaton()
    for word, kind in kinds.items():
        auto.add_word(word, (len(word), kind))
    auto.make_automaton()
    return auto


_WORDS = _automaton()
if any(c.isdigit() for w in (*SHAPED_WORDS, *LABEL_WORDS, *CUES) for c in w):
    raise RuntimeError("screen words must hold no digit: the screen reads digit-shaped text")


def screen(blob: str, low: str) -> tuple[bool, bool]:
    """(could hold a secret, holds an instruction cue) for `blob`, where `low` is blob.lower()."""
    seen = 0
    shaped = digit_shapes(low)
    for end, (size, kind) in _WORDS.iter(shaped):
        if kind & _PLUS and international_at(shaped, end - size + 1):
            kind |= _PHONE
        seen |= kind
    secret = (
        bool(seen & (_SHAPED | _PHONE))
        or (bool(seen & _LABEL) and LABELLED.search(low) is not None)
        or has_other_digits(blob)
    )
    return secret, bool(seen & _CUE)
