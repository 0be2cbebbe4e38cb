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
only when redaction could change something. Those words fire all the time ("sk" in "task", "-us"
in "us-east-1", 13 digits in an epoch in milliseconds), so where a word sits at a known offset from
the start of its kind's match the pattern is tried at that spot only (`pattern.match` at a
position: lookbehinds and \\b still see the text before it), not searched for along the record. The answers are exactly those of the word-by-word
checks (a test compares them on generated text).
"""

from __future__ import annotations

import re

import ahocorasick

from tools import redact
from tools.redact import (
    CARD_SHAPES, INTERNAL_FIRST_OCTETS, LABEL_WORDS, LABELLED, PHONE_SHAPES, SHAPED_WORDS, SSN_SHAPE, digit_shapes,
    has_other_digits, international_at, _public_ip,
)
from tools.untrusted import CUES

_SHAPED, _LABEL, _CUE, _PHONE, _PLUS, _TRIG = 1, 2, 4, 8, 16, 32
# From an IPv4 address's first dot (a literal prefix the engine scans for fast; "0{1,3}" first is
# ~5x slower on access-log lines). Measured slower: the 81 dotted-quad shapes as automaton words
# (six overlapping hits per address) and one pattern for the IPv4 and IPv6 shapes together (an
# alternation loses the literal-prefix scan).
_V4_SHAPE = re.compile(r"\.0{1,3}\.0{1,3}\.0")
# Kinds checked by their own pattern when one of their words is seen: the vendor table, and the
# card and SSN shapes (a 13-digit epoch in milliseconds must not send a line down the costly path).
_CONFIRMED: list[redact._Kind] = [*redact._TRIGGERED, redact._BY_NAME["card_number"], redact._BY_NAME["ssn"]]
_IPV4 = redact._BY_NAME["ipv4"]
_IPV6 = redact._BY_NAME["ipv6"]
# Every IPv6 address ipaddress accepts without "::" holds a colon, five 1-4 hex groups each ending
# in a colon (eight groups, or six and an IPv4 tail), seen here digit-shaped and lower-cased.
_V6_SHAPE = re.compile(r":(?:[0a-f]{1,4}:){5}")

# Where a word of a confirmed kind sits in that kind's every match: (least, most) characters
# after the match's start. Kinds named in _AT_START begin each alternative with one of their
# words (after \b, a lookbehind or (?i)); the rest are listed word by word. A kind or word in
# neither has its pattern searched for along the whole record (always correct, only slower).
_AT_START = frozenset((
    "slack_app_token", "gitlab_token", "gitlab_runner_token", "huggingface_token", "stripe_key", "google_api_key",
    "google_oauth", "sendgrid_key", "twilio_key", "npm_token", "pypi_token", "rubygems_token", "databricks_token",
    "shopify_token", "square_token", "facebook_token", "grafana_token", "newrelic_key", "postman_key",
    "linear_key", "sentry_token", "planetscale_token", "doppler_token", "dynatrace_token", "age_secret_key",
    "alibaba_key", "sendinblue_key", "atlassian_token", "artifactory_key", "azure_storage_key", "card_number",
    "ssn",
))
_OFFSETS: dict[tuple[str, str], tuple[int, int]] = {
    ("slack_webhook", "hooks.slack.com"): (7, 8),  # after "http://" or "https://"
    ("mailchimp_key", "-us"): (32, 32),  # after 32 hex digits
    ("mailgun_key", "key-"): (0, 3),  # "key-" or "pubkey-"
    ("digitalocean_token", "_v1_"): (3, 3),  # after "doo", "dop" or "dor"
    ("telegram_bot_token", ":aa"): (8, 10),  # after the bot's 8-10 digit id
    ("azure_sas", "sig="): (1, 1),  # after "?", "&" or ";"
    ("hashicorp_token", "hvs."): (0, 0),
    ("hashicorp_token", "hvb."): (0, 0),
    ("hashicorp_token", ".atlasv1."): (14, 14),  # after a 14-character id
}
Anchor = tuple[int, int] | None


def _anchor(kind: redact._Kind, word: str) -> Anchor:
    if kind.name in _AT_START:
        return (0, 0)
    return _OFFSETS.get((kind.name, word))




def _automaton() -> ahocorasick.Automaton:
    kinds: dict[str, int] = {}
    confirm: dict[str, set[tuple[int, Anchor]]] = {}
    groups = ((SHAPED_WORDS, _SHAPED), (LABEL_WORDS, _LABEL), (CUES, _CUE), (PHONE_SHAPES, _PHONE),
              (("+0",), _PLUS))
    for words, kind in groups:
        for w in words:
            w = digit_shapes(w)
            kinds[w] = kinds.get(w, 0) | kind
    for i, k in enumerate(_CONFIRMED):
        words = k.triggers or (CARD_SHAPES if k.name == "card_number" else (SSN_SHAPE,))
        for word in words:
            w = digit_shapes(word)
            kinds[w] = kinds.get(w, 0) | _TRIG
            confirm.setdefault(w, set()).add((i, _anchor(k, word)))
    auto = ahocorasick.Automaton()
    for word, kind in kinds.items():
        checks = tuple(sorted(confirm.get(word, ()), key=lambda c: (c[0], c[1] or (-1, -1))))
        auto.add_word(word, (len(word), kind, checks))
    auto.make_automaton()
    return auto


_WORDS = _automaton()


def _matches(kind: redact._Kind, blob: str) -> bool:
    """True when `kind`'s pattern finds a value redaction would replace in `blob`."""
    if kind.valid is None:
        return kind.pattern.search(blob) is not None
    return any(kind.valid(m.group(kind.group)) for m in kind.pattern.finditer(blob))


def _match_at(kind: redact._Kind, blob: str, pos: int) -> bool:
    """True when `kind`'s match starting at `pos` (the one a search would find there) is a value
    redaction would replace."""
    m = kind.pattern.match(blob, pos)
    return m is not None and (kind.valid is None or kind.valid(m.group(kind.group)))


def _public_v4(blob: str, shaped: str) -> bool:
    """True when `blob` holds a public IPv4 address. The digit-shaped text is searched first (a
    literal "." prefix the engine scans for fast); each spot is then checked on the real text."""
    if not blob.isascii():  # shaped positions match the text's only for ASCII
        return _matches(_IPV4, blob)
    for m in _V4_SHAPE.finditer(shaped):
        dot = start = m.start()
        while start > 0 and dot - start < 3 and shaped[start - 1] == "0":
            start -= 1
        if blob[start:dot] in INTERNAL_FIRST_OCTETS:
            continue  # an address starting here is internal (10.x.x.x, ...), or there is none
        hit = _IPV4.pattern.match(blob, start)
        if hit is not None and _public_ip(hit.group(0)):
            return True
    return False


def _triggered(hits: list[tuple[int, tuple[tuple[int, Anchor], ...]]], blob: str) -> bool:
    """True when some kind whose word was seen (at the given start in the shaped text) has a
    value to redact. For ASCII text the shaped positions are the text's, so an anchored kind is
    tried only where its match would have to start; any other is searched for once."""
    ascii_text = blob.isascii()
    searched: set[int] = set()
    for start, checks in hits:
        for i, anchor in checks:
            if anchor is None or not ascii_text:
                searched.add(i)
                continue
            kind = _CONFIRMED[i]
            for pos in range(max(0, start - anchor[1]), start - anchor[0] + 1):
                if _match_at(kind, blob, pos):
                    return True
    return any(_matches(_CONFIRMED[i], blob) for i in sorted(searched))


def _address(blob: str, shaped: str) -> bool:
    """True when `blob` holds a public IP address (the cheap shape checks run first)."""
    if "0.0" in shaped and shaped.count(".") >= 3 and _public_v4(blob, shaped):
        return True
    # Seven colons or "::": what redaction itself asks before it looks for an IPv6 address.
    v6 = "::" in shaped or (shaped.count(":") >= 7 and _V6_SHAPE.search(shaped) is not None)
    return v6 and _matches(_IPV6, blob)


def screen(blob: str, low: str) -> tuple[bool, bool]:
    """(could hold a secret, holds an instruction cue) for `blob`, where `low` is blob.lower()."""
    seen = 0
    hits: list[tuple[int, tuple[tuple[int, Anchor], ...]]] = []
    shaped = digit_shapes(low)
    for end, (size, kind, checks) in _WORDS.iter(shaped):
        if kind & (_PLUS | _TRIG):
            start = end - size + 1
            if kind & _PLUS and international_at(shaped, start):
                kind |= _PHONE
            if checks:
                hits.append((start, checks))
        seen |= kind
    secret = (
        bool(seen & (_SHAPED | _PHONE))
        or (bool(seen & _LABEL) and LABELLED.search(low) is not None)
        or has_other_digits(blob)
        or _address(blob, shaped)
        or (bool(hits) and _triggered(hits, blob))
    )
    return secret, bool(seen & _CUE)
