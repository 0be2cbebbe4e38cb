"""One pass over a record's text that says which ingest checks it needs.

Every record is screened for: words that each original secret pattern but the phone one needs
(`redact.SHAPED_WORDS`), labels the password pattern needs (`redact.LABEL_WORDS`), the digit shapes
a phone number, card number or SSN needs (`redact.PHONE_SHAPES`, `CARD_SHAPES`, `SSN_SHAPE`, "+0"),
the prefixes of the vendor token table (`redact.TRIGGER_WORDS`), the shapes of IP addresses ("0.0",
"::") and cues of instruction-like text (`untrusted.CUES`). Testing each with `in` is a scan per
word, over a hundred scans of every line; an Aho-Corasick automaton (pyahocorasick, C) finds them
all in one scan of the digit-shaped, lower-cased text (words are digit-shaped the same way, so
"ya29." is looked for as "ya00.").

Some vendor prefixes are short and common in logs ("sk" of a Twilio key in "disk", "sg." in
"msg."), and most lines hold an internal IP address, which stays: a hit on those is confirmed by
running that kind's own pattern (and validity check) on the record, so the screen says "secret"
only when redaction could change something. The answers are exactly those of the word-by-word
checks (a test compares them on generated text).
"""

from __future__ import annotations

import re

import ahocorasick

from tools import redact
from tools.redact import (
    CARD_SHAPES, LABEL_WORDS, LABELLED, PHONE_SHAPES, SHAPED_WORDS, SSN_SHAPE, digit_shapes, has_other_digits,
    international_at, _public_ip,
)
from tools.untrusted import CUES

_SHAPED, _LABEL, _CUE, _PHONE, _PLUS, _TRIG = 1, 2, 4, 8, 16, 32
# From an IPv4 address's first dot (a literal prefix the engine scans for fast; "0{1,3}" first is
# ~5x slower on access-log lines).
_V4_SHAPE = re.compile(r"\.0{1,3}\.0{1,3}\.0")
# Kinds checked by their own pattern when one of their words is seen: the vendor table, and the
# card and SSN shapes (a 13-digit epoch in milliseconds must not send a line down the costly path).
_CONFIRMED: list[redact._Kind] = [*redact._TRIGGERED, redact._BY_NAME["card_number"], redact._BY_NAME["ssn"]]
_IPV4 = redact._BY_NAME["ipv4"]
_IPV6 = redact._BY_NAME["ipv6"]


def _automaton() -> ahocorasick.Automaton:
    kinds: dict[str, int] = {}
    confirm: dict[str, set[int]] = {}
    groups = ((SHAPED_WORDS, _SHAPED), (LABEL_WORDS, _LABEL), (CUES, _CUE), (PHONE_SHAPES, _PHONE),
              (("+0",), _PLUS))
    for words, kind in groups:
        for w in words:
            w = digit_shapes(w)
            kinds[w] = kinds.get(w, 0) | kind
    for i, k in enumerate(_CONFIRMED):
        words = k.triggers or (CARD_SHAPES if k.name == "card_number" else (SSN_SHAPE,))
        for w in words:
            w = digit_shapes(w)
            kinds[w] = kinds.get(w, 0) | _TRIG
            confirm.setdefault(w, set()).add(i)
    auto = ahocorasick.Automaton()
    for word, kind in kinds.items():
        auto.add_word(word, (len(word), kind, tuple(sorted(confirm.get(word, ())))))
    auto.make_automaton()
    return auto


_WORDS = _automaton()


def _matches(kind: redact._Kind, blob: str) -> bool:
    """True when `kind`'s pattern finds a value redaction would replace in `blob`."""
    if kind.valid is None:
        return kind.pattern.search(blob) is not None
    return any(kind.valid(m.group(kind.group)) for m in kind.pattern.finditer(blob))


def _public_v4(blob: str, shaped: str) -> bool:
    """True when `blob` holds a public IPv4 address. The digit-shaped text is searched first (a
    literal "0" prefix the engine scans for fast); each spot is then checked on the real text."""
    if not blob.isascii():  # shaped positions match the text's only for ASCII
        return _matches(_IPV4, blob)
    for m in _V4_SHAPE.finditer(shaped):
        start = m.start()
        while start > 0 and m.start() - start < 3 and shaped[start - 1] == "0":
            start -= 1
        hit = _IPV4.pattern.match(blob, start)
        if hit is not None and _public_ip(hit.group(0)):
            return True
    return False


def _v6_window(shaped: str) -> bool:
    """True when seven colons fall within 39 characters (an uncompressed IPv6 address), which
    JSON lines with many keys do not have."""
    pos: list[int] = []
    i = shaped.find(":")
    while i >= 0:
        pos.append(i)
        if len(pos) >= 7 and pos[-1] - pos[-7] <= 38:
            return True
        i = shaped.find(":", i + 1)
    return False


def _confirmed(trig: set[int], blob: str, shaped: str) -> bool:
    if shaped.count(".") >= 3 and "0.0" in shaped and _public_v4(blob, shaped):
        return True
    if ("::" in shaped or (shaped.count(":") >= 7 and _v6_window(shaped))) and _matches(_IPV6, blob):
        return True
    return any(_matches(_CONFIRMED[i], blob) for i in sorted(trig))


def screen(blob: str, low: str) -> tuple[bool, bool]:
    """(could hold a secret, holds an instruction cue) for `blob`, where `low` is blob.lower()."""
    seen = 0
    trig: set[int] = set()
    shaped = digit_shapes(low)
    for end, (size, kind, confirm) in _WORDS.iter(shaped):
        if kind & _PLUS and international_at(shaped, end - size + 1):
            kind |= _PHONE
        if confirm:
            trig.update(confirm)
        seen |= kind
    secret = (
        bool(seen & (_SHAPED | _PHONE))
        or (bool(seen & _LABEL) and LABELLED.search(low) is not None)
        or has_other_digits(blob)
        or _confirmed(trig, blob, shaped)
    )
    return secret, bool(seen & _CUE)
