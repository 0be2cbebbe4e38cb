"""Secret and PII redaction, applied to every record before it is stored.

Placeholders are stable within a run (`[REDACTED:email#3]` is always the same address), so a
reader can still follow "the same key appears in three places" without seeing the key. Only a
hash of each value is kept in memory, never the value.

Speed matters: ingestion pushes millions of lines through here. Cheap substring checks find which
kinds could possibly match a line; most log lines match none and return at once, and the rest run
only the patterns of their candidate kinds.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict

_NOT_BEFORE_PHONE = r"(?<![\w.:/+\-])"
_NOT_AFTER_PHONE = r"(?![\w:/\-]|\.\d)"


# Card networks' leading digits (Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37, Discover
# 6011/65, JCB 35, Diners 30/36/38): digit runs that pass Luhn but start otherwise (epoch
# milliseconds, ids) are left alone.
_CARD_START = re.compile(r"4|5[1-5]|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[0478]|6(?:011|5|4[4-9])|35|36")


def _card_ok(value: str) -> bool:
    """True for a card number: a known network prefix, 13-19 digits, and a valid Luhn digit."""
    digits = [int(c) for c in value if c.isdigit()]
    if not 13 <= len(digits) <= 19 or not _CARD_START.match("".join(map(str, digits[:4]))):
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


# Addresses that name machines inside the operator's network, not people: private (RFC 1918,
# unique-local), loopback, link-local, carrier-grade NAT, multicast and reserved. They stay so
# analysis can follow hosts and pods; every other address is a client's and is pseudonymised
# (documentation ranges such as 203.0.113.0/24 count as public: examples use them for clients).
_INTERNAL_NETS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10",
    "0.0.0.0/8", "224.0.0.0/3", "fc00::/7", "fe80::/10", "ff00::/8", "::/128", "::1/128",
))
_PUBLIC_MEMO: dict[str, bool] = {}


def _public_ip(value: str) -> bool:
    """True for a well-formed address outside the internal ranges (memoised: logs repeat hosts)."""
    hit = _PUBLIC_MEMO.get(value)
    if hit is None:
        hit = _classify_ip(value)
        if len(_PUBLIC_MEMO) < 65536:  # bounded: hostile input must not grow it without limit
            _PUBLIC_MEMO[value] = hit
    return hit


# The IPv4 networks above as (network, netmask) integers: a dotted quad is classified with a few
# integer operations instead of an ipaddress object (~8x faster; access logs hold one per line).
_INTERNAL_V4 = tuple((int(n.network_address), int(n.netmask)) for n in _INTERNAL_NETS if n.version == 4)
# First octets (as written) whose every address is internal (10, 127, 0, 224-255): an address
# starting so needs no further look.
INTERNAL_FIRST_OCTETS = frozenset(
    str(a) for a in range(256) if any(n.prefixlen <= 8 and ipaddress.ip_address(a << 24) in n
                                      for n in _INTERNAL_NETS if n.version == 4))


def _quad_value(value: str) -> int | None:
    """The 32-bit value of a dotted quad written as ipaddress accepts it (ASCII decimal octets up
    to 255, no leading zero); None for anything else, which takes ipaddress's own path."""
    parts = value.split(".")
    if len(parts) != 4:
        return None
    n = 0
    for p in parts:
        if not (p.isascii() and p.isdigit()) or len(p) > 3 or (p[0] == "0" and len(p) > 1):
            return None
        octet = int(p)
        if octet > 255:
            return None
        n = n << 8 | octet
    return n


def _classify_ip(value: str) -> bool:
    n = _quad_value(value)
    if n is not None:
        return not any(n & mask == net for net, mask in _INTERNAL_V4)
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return False  # "12:00:00", "dead:beef", a MAC address...
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return not any(addr in net for net in _INTERNAL_NETS if net.version == addr.version)


@dataclass(frozen=True)
class _Kind:
    name: str
    pattern: re.Pattern[str]
    group: int  # 0: replace the whole match; n: replace only group n (keep labels, user, host)
    # Lower-case literals one of which every match holds (checked on the lower-cased text). Empty
    # for the original kinds, whose candidate checks are written out in _candidates.
    triggers: tuple[str, ...] = ()
    # A value the pattern matched is only redacted when this says so (Luhn, public address, ...).
    valid: Callable[[str], bool] | None = None


class _Pattern(BaseModel):
    """One entry of tools/secret_patterns.yaml."""

    model_config = ConfigDict(extra="forbid")

    name: str
    regex: list[str]  # pieces of one regex, joined with nothing between
    flags: list[Literal["IGNORECASE", "MULTILINE", "DOTALL"]] = []
    group: int = 0
    triggers: tuple[str, ...] = ()

    def kind(self) -> _Kind:
        bits = 0
        for flag in self.flags:
            bits |= re.RegexFlag[flag]
        return _Kind(self.name, re.compile("".join(self.regex), bits), self.group, self.triggers)


def _pattern_kinds() -> list[_Kind]:
    """The kinds of tools/secret_patterns.yaml, in file order (the order they are tried in)."""
    raw = yaml.safe_load((resources.files(__package__) / "secret_patterns.yaml").read_text(encoding="utf-8"))
    return [_Pattern.model_validate(entry).kind() for entry in raw]


# Order matters: specific token shapes before generic assignments, URLs before emails.
_KINDS: list[_Kind] = [
    *_pattern_kinds(),  # tools/secret_patterns.yaml: the kinds that are a regex alone, in order
    _Kind("card_number", re.compile(
        r"(?<![\d\-.])(?:\d{13,19}|\d{4}([ \-])\d{4}\1\d{4}\1\d{1,7}|\d{4}([ \-])\d{6}\2\d{4,5})(?![\d\-]|\.\d)"),
        0, valid=lambda v: _card_ok(v)),
    _Kind("ssn", re.compile(r"(?<![\d\-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d\-])"), 0),
    _Kind("ipv4", re.compile(
        r"(?<![\w.\-])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?![\w\-]|\.\d)"),
        0, valid=lambda v: _public_ip(v)),
    _Kind("ipv6", re.compile(
        r"(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:]{2,39}(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?![\w:.])"),
        0, valid=lambda v: _public_ip(v)),
    _Kind(
        "phone",
        re.compile(
            _NOT_BEFORE_PHONE
            + r"(?:"
            # International: "+", country code, then 2-5 groups (10-15 digits checked below).
            r"\+[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,4}\)?){2,5}"
            # NANP: (415) 555-0199, 415-555-0199, 415.555.0199, 1-415-555-0199, 415 555 0199.
            r"|(?:1[ .\-])?\(\d{3}\)[ .\-]?\d{3}[ .\-]\d{4}"
            r"|(?:1([ .\-]))?\d{3}([ .\-])\d{3}\2\d{4}"
            r")"
            + _NOT_AFTER_PHONE
        ),
        0,
    ),
]
_BY_NAME = {k.name: k for k in _KINDS}
_TRIGGERED = [k for k in _KINDS if k.triggers]
TRIGGER_WORDS = tuple(sorted({w for k in _TRIGGERED for w in k.triggers}))
# Digits to "0" so digit shapes can be tested with plain substring search (C speed, no regex).
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
# Any of these (in the lower-cased line) makes some pattern possible; most log lines hold none.
_WORDS = ("sk-", "akia", "asia", "gh", "github_pat_", "xox", "eyj", "bearer", "@", "pass", "pwd", "secret", "key", "token",
          "credential", "private", *TRIGGER_WORDS)
# The ingest screen is stricter than _WORDS where plain words are common in logs ("token limit
# exceeded", "high"): a label must be followed by = or : as the password pattern requires, and
# "gh" must start a GitHub token prefix.
SHAPED_WORDS = ("sk-", "akia", "asia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "eyj",
                 "bearer", "@", "private")
LABEL_WORDS = ("pass", "pwd", "secret", "key", "token", "credential")
LABELLED = re.compile(r"(?:pass|pwd|secret|key|token|credential)\w*[\"']?\s*[=:]")


PHONE_SHAPES = ("000-000-0000", "000.000.0000", "000 000 0000", "(000)")
# Digit shapes (after digit_shapes) some card-number layout or SSN must hold.
CARD_SHAPES = ("0000000000000", "0000 0000 0000", "0000-0000-0000", "0000 000000 0000", "0000-000000-0000")
SSN_SHAPE = "000-00-0000"
DIGIT_KINDS = ("card_number", "ssn", "ipv4", "ipv6", "phone")


def ipv4_possible(shaped: str) -> bool:
    """An IPv4 address holds "0.0" and three dots (cheap: timestamps hold one, versions two)."""
    return "0.0" in shaped and shaped.count(".") >= 3


def ipv6_possible(shaped: str) -> bool:
    """An IPv6 address is compressed ("::") or has seven colons."""
    return "::" in shaped or shaped.count(":") >= 7


# The phone pattern's \d takes any Unicode digit ("４１５"); the digit shapes below see ASCII only.
_OTHER_DIGIT = re.compile(r"(?![0-9])\d")


def digit_shapes(text: str) -> str:
    """`text` with every ASCII digit turned into "0" (bytes.translate, then back to str, where
    substring search is fast on digit-heavy text). Other characters may come back as several."""
    return text.encode("utf-8", "surrogatepass").translate(_DIGITS_TO_ZERO).decode("latin-1")


def international_at(shaped: str, i: int) -> bool:
    """True when the "+0" at `i` of a digit_shapes string could start an international number."""
    tail = shaped[i + 1:i + 11]
    run = len(tail) - len(tail.lstrip("0"))
    return run >= 10 or (1 <= run <= 3 and shaped[i + 1 + run:i + 2 + run] in (" ", ".", "-", "("))


def has_other_digits(text: str) -> bool:
    return not text.isascii() and _OTHER_DIGIT.search(text) is not None


def _phone_shaped(text: str) -> bool:
    """True when `text` holds a digit pattern some phone alternative could match (no regex on
    ASCII text); the international form is checked at each "+0" by hand."""
    if has_other_digits(text):
        return True
    shaped = digit_shapes(text)
    i = shaped.find("+0")
    while i >= 0:
        if international_at(shaped, i):
            return True
        i = shaped.find("+0", i + 1)
    for shape in PHONE_SHAPES:
        if shape in shaped:
            return True
    return False


def _candidates(text: str) -> set[str]:
    """Kinds whose pattern could match `text`, found by substring search only.

    A combined trigger regex was tried first: Python's engine walks an alternation position by
    position and managed ~35k lines/s. Each check below is implied by its kind's pattern, so a
    candidate is never missed; a false candidate only costs one regex run.
    """
    found: set[str] = set()
    low = text.lower()
    for word in _WORDS:  # a plain loop of `in` beats any() with a generator by ~3x here
        if word in low:
            _word_candidates(text, low, found)
            break
    _digit_candidates(text, found)
    return found


def _word_candidates(text: str, low: str, found: set[str]) -> None:
    if "private key-----" in low:
        found.add("private_key")
    if "sk-" in text:
        found.update(("anthropic_key", "openai_key"))
    if "AKIA" in text or "ASIA" in text:
        found.add("aws_access_key")
    if ("gh" in text and "_" in text) or "github_pat_" in text:
        found.add("github_token")
    if "xox" in text:
        found.add("slack_token")
    if "eyJ" in text:
        found.add("jwt")
    if "bearer" in low:
        found.add("bearer_token")
    if "@" in text:
        found.add("email")
        if "://" in text:
            found.add("url_password")
    if ("=" in text or ":" in text) and any(w in low for w in LABEL_WORDS):
        found.add("password")
        if "secret" in low:
            found.add("aws_secret_key")
    for kind in _TRIGGERED:
        for word in kind.triggers:
            if word in low:
                found.add(kind.name)
                break


def _digit_candidates(text: str, found: set[str]) -> None:
    """Digit-shaped kinds (cards, SSNs, addresses, phones), tested on the digits-to-"0" text."""
    if has_other_digits(text):
        found.update(DIGIT_KINDS)
        return
    shaped = digit_shapes(text)
    if any(shape in shaped for shape in CARD_SHAPES):
        found.add("card_number")
    if SSN_SHAPE in shaped:
        found.add("ssn")
    if ipv4_possible(shaped):
        found.add("ipv4")
    if ipv6_possible(shaped):
        found.add("ipv6")
    if _phone_shaped(text):
        found.add("phone")


# A worker's provisional placeholders carry its run tag (#~tag~n) until the store renumbers them.
_PLACEHOLDER = re.compile(r"\[REDACTED:[a-z0-9_]+#(?:~[0-9a-f]+~)?\d+\]")

# Structured fields whose whole value is a secret, whatever it looks like ({"password": "x"}).
_SECRET_KEY = re.compile(
    # The name may carry a prefix (DB_PASSWORD, PGPASSWORD, x-api-key, spring.datasource.password).
    r"(?i)^[a-z0-9_.\-]*?(?:password|passwd|passphrase|pswd|pwd|secret|client[_-]?secret|api[_-]?key|apikey|"
    r"access[_-]?key|account[_-]?key|access[_-]?token|auth[_-]?token|refresh[_-]?token|session[_-]?token|"
    r"sas[_-]?token|token|authorization|private[_-]?key(?:[_-]?id)?|secret[_-]?key|signing[_-]?key|"
    r"secret_access_key|credentials?)$"
)


_KEY_CUES = ("pass", "pwd", "secret", "key", "token", "authorization", "credential")


_KEY_IS_SECRET: dict[object, bool] = {}


def secret_keys(keys: Iterable[object]) -> bool:
    """True when some key names a secret field (password, api_key, ...). Memoised per key name:
    a log repeats the same few keys on every line."""
    memo = _KEY_IS_SECRET
    for k in keys:
        hit = memo.get(k)
        if hit is None:
            hit = isinstance(k, str) and _SECRET_KEY.match(k) is not None
            if len(memo) < 65536:  # bounded: hostile input must not grow it without limit
                memo[k] = hit
        if hit:
            return True
    return False


def _plausible_phone(s: str) -> bool:
    digits = sum(c.isdigit() for c in s)
    return 10 <= digits <= 15


class Redactor:
    """Stateful per run: placeholders are numbered by first appearance per kind.

    A parallel ingest worker gets its own Redactor with a random `tag`; its placeholders
    (`[REDACTED:email#~tag~1]`) are renumbered into the run's numbering when its records are merged
    (`renumber` + `retag`), so the result is the one a single process would have written."""

    def __init__(self, tag: str = "") -> None:
        self._tag = f"~{tag}~" if tag else ""
        self.counts: dict[str, int] = {}
        self._ids: dict[str, dict[bytes, int]] = {}
        self._subs: dict[str, Callable[[re.Match[str]], str]] = {
            k.name: self._make_sub(k) for k in _KINDS
        }

    def placeholder(self, kind: str, value: str) -> str:
        """The stable placeholder for `value` of `kind` (counts one redaction)."""
        digest = hashlib.blake2b(value.encode("utf-8", "replace"), digest_size=16).digest()
        table = self._ids.setdefault(kind, {})
        n = table.get(digest)
        if n is None:
            n = table[digest] = len(table) + 1
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"[REDACTED:{kind}#{self._tag}{n}]"

    def seen(self) -> dict[str, list[bytes]]:
        """Value digests per kind, in numbering order (digests only: no value leaves the process)."""
        return {kind: list(table) for kind, table in self._ids.items()}

    def renumber(self, seen: dict[str, list[bytes]], counts: dict[str, int]) -> dict[str, dict[int, int]]:
        """Take in another Redactor's values (from `seen`) and counts, in order; returns per kind
        its number -> this run's number."""
        mapping: dict[str, dict[int, int]] = {}
        for kind, digests in seen.items():
            table = self._ids.setdefault(kind, {})
            local = mapping.setdefault(kind, {})
            for i, digest in enumerate(digests, 1):
                n = table.get(digest)
                if n is None:
                    n = table[digest] = len(table) + 1
                local[i] = n
        for kind, n in counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + n
        return mapping

    def _make_sub(self, kind: _Kind) -> Callable[[re.Match[str]], str]:
        name, group, valid = kind.name, kind.group, kind.valid

        def repl(m: re.Match[str]) -> str:
            value = m.group(group)
            if _PLACEHOLDER.fullmatch(value):
                return m.group(0)
            if name == "phone" and not _plausible_phone(value):
                return m.group(0)
            if valid is not None and not valid(value):
                return m.group(0)
            ph = self.placeholder(name, value)
            if not group:
                return ph
            base = m.start(0)
            start, end = m.span(group)
            whole = m.group(0)
            return whole[: start - base] + ph + whole[end - base :]

        return repl

    def redact_text(self, text: str) -> str:
        if not text:
            return text
        found = _candidates(text)
        if not found:
            return text
        for kind in _KINDS:
            if kind.name in found:
                text = kind.pattern.sub(self._subs[kind.name], text)
        return text

    @staticmethod
    def _flat_and_clean(obj: dict[Any, Any]) -> bool:
        """True for a flat dict (a JSON log line's fields) that certainly needs no change.

        One candidate check over all values joined beats one per value: JSON log lines carry
        many short string fields and ingestion sees millions of them.
        """
        strs = _flat_strings(obj)
        if strs is None:
            return False
        keys = "\n".join(obj).lower()
        if any(w in keys for w in _KEY_CUES) and any(
            isinstance(v, str) and v and _SECRET_KEY.match(k) for k, v in obj.items()
        ):
            return False
        return not strs or not _candidates("\n".join(strs))

    def redact_obj(self, obj: Any) -> Any:
        """Redact every string inside dicts/lists/tuples; keys are kept as they are.

        A string stored under a secret-looking key (password, api_key, authorization, ...) is
        replaced whole, since a bare value carries no label for the text patterns to see.
        """
        if isinstance(obj, str):
            # Nothing shorter than "a@b.io" can match; most attribute values are short words.
            return obj if len(obj) < 6 else self.redact_text(obj)
        if isinstance(obj, dict):
            if self._flat_and_clean(obj):
                return obj
            out: dict[Any, Any] = {}
            for k, v in obj.items():
                if (
                    isinstance(v, str)
                    and v
                    and isinstance(k, str)
                    and _SECRET_KEY.match(k)
                    and not _PLACEHOLDER.fullmatch(v)
                ):
                    out[k] = self.placeholder("password", v)
                else:
                    out[k] = self.redact_obj(v)
            return out
        if isinstance(obj, list):
            return [self.redact_obj(v) for v in obj]
        if isinstance(obj, tuple):
            return tuple(self.redact_obj(v) for v in obj)
        return obj


def _flat_strings(obj: dict[Any, Any]) -> list[str] | None:
    strs: list[str] = []
    for k, v in obj.items():
        if type(k) is not str:
            return None
        if type(v) is str:
            strs.append(v)
        elif isinstance(v, (dict, list, tuple)):
            return None
    return strs


def retag(text: str, tag: str, mapping: dict[str, dict[int, int]]) -> str:
    """Rewrite a worker's provisional placeholders (tag `tag`) with the run's numbers."""
    marker = f"#~{tag}~"
    if marker not in text:
        return text
    return re.sub(
        r"\[REDACTED:([a-z0-9_]+)#~" + re.escape(tag) + r"~(\d+)\]",
        lambda m: f"[REDACTED:{m.group(1)}#{mapping[m.group(1)][int(m.group(2))]}]",
        text,
    )


def redact_text(text: str) -> str:
    """One-off redaction with a fresh numbering (ingestion keeps one Redactor per run)."""
    return Redactor().redact_text(text)


KINDS: tuple[str, ...] = tuple(_BY_NAME)
