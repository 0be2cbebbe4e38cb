"""The ingest screen's cheap paths (anchored vendor checks, IPv4 classification by integers)
must never let a redactable value through, and must keep ordinary log words off the slow path."""

from __future__ import annotations

import ipaddress
import random

import pytest

from tools import redact, screen
from tools.redact import Redactor

# Ordinary log text that fires vendor words or digit shapes but holds nothing to redact.
ORDINARY = [
    "2024-10-08T12:12:20.123Z INFO scheduler: dispatching task train-step-4411 to node us-east-1a",
    "disk /dev/sda1 at 91% on a risk check task; msg.id=42 ts_ms=1728389540123",
    "key-rotation done; sig verified; dapi call ok; region eu-west-1",
    "10.2.78.248 - - [08/Oct/2024:12:12:20 +0000] \"GET /healthz HTTP/1.1\" 200 2",
    "peer 127.0.0.1 and 192.168.1.20 and 172.16.4.2 and 100.64.0.9 via 224.0.0.251",
]


@pytest.mark.parametrize("line", ORDINARY)
def test_ordinary_words_and_internal_addresses_are_screened_out(line: str) -> None:
    assert screen.screen(line, line.lower()) == (False, False)
    assert Redactor().redact_text(line) == line


@pytest.mark.parametrize("line", [
    "task SK" + "0123456789abcdef" * 2 + " done",  # Twilio key right after a word that fired "sk"
    "disk full; key " + "0123456789abcdef" * 2 + "-us14 rotated",  # Mailchimp: the word sits 32 chars in
    "pubkey-" + "0123456789abcdef" * 2,  # Mailgun, the word 3 chars in
    "bot 123456789:AA" + "B" * 33 + " ok",  # Telegram, the word after an 8-10 digit id
    "https://acct.blob.core.windows.net/c?sv=2022&sig=abcdefghijklmnop123 x",  # SAS, 1 char in
    "card 4111 1111 1111 1111 at ts_ms=1728389540123",
    "client 11.2.3.4 and 100.63.0.1 from the internet",  # first octets that are not wholly internal
])
def test_values_next_to_ordinary_words_still_reach_redaction(line: str) -> None:
    assert screen.screen(line, line.lower())[0]
    assert Redactor().redact_text(line) != line


def test_screened_out_text_never_changes_under_redaction() -> None:
    """Soundness on generated text: whatever the screen lets pass unredacted, redaction would
    have left as it is (vendor words at every offset, hex and digit runs, addresses)."""
    rng = random.Random(19)
    words = list(redact.TRIGGER_WORDS)
    fixed = [" ", "=", ":", "/", ".", "-", "_", "?", "&", ";", "\"", "task", "disk", "msg.", "us-east-1",
             "1728389540123", "4111111111111111", "4111 1111 1111 1111", "123-45-6789", "10.2.3.4",
             "203.0.113.9", "8.8.8.8", "2001:db8::1", "fe80::1", "1:2:3:4:5:6:8.8.8.8", "12:00:00", "é",
             "http://", "https://", "SK", "AKC", "pubkey-", "doo", "123456789", "AA", "EAAA", "hvs.",
             "1234567890abcd", "0"]
    hexchars = "0123456789abcdef"
    alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    missed = []
    for _ in range(20000):
        parts = []
        for _ in range(rng.randint(1, 10)):
            r = rng.random()
            if r < 0.25:
                w = rng.choice(words)
                parts.append(w.upper() if rng.random() < 0.5 else w)
            elif r < 0.4:
                parts.append("".join(rng.choice(hexchars) for _ in range(rng.choice([4, 14, 24, 32, 40, 64]))))
            elif r < 0.5:
                parts.append("".join(rng.choice(alnum) for _ in range(rng.choice([8, 16, 20, 36, 60, 100]))))
            else:
                parts.append(rng.choice(fixed))
        blob = "".join(parts)
        if not screen.screen(blob, blob.lower())[0] and Redactor().redact_text(blob) != blob:
            missed.append(blob)
    assert not missed, missed[:3]


def _reference_public(value: str) -> bool:
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return not any(addr in net for net in redact._INTERNAL_NETS if net.version == addr.version)


def test_integer_ipv4_classification_agrees_with_ipaddress() -> None:
    rng = random.Random(3)
    octets = ["0", "1", "9", "10", "63", "64", "99", "100", "127", "128", "168", "169", "172", "192", "223",
              "224", "254", "255", "256", "00", "01", "1000", "", "a", "٣", "+1", " 1"]
    values = [".".join(rng.choice(octets) if rng.random() < 0.6 else str(rng.randint(0, 260))
                       for _ in range(rng.choice([3, 4, 4, 4, 5]))) for _ in range(50000)]
    values += ["2001:db8::1", "::ffff:10.0.0.1", "::ffff:8.8.8.8", "fe80::1"]
    wrong = [v for v in values if redact._classify_ip(v) != _reference_public(v)]
    assert not wrong, wrong[:5]


def test_wholly_internal_first_octets_are_exactly_the_internal_slash8s() -> None:
    for a in range(256):
        internal = not _reference_public(f"{a}.1.2.3") and not _reference_public(f"{a}.200.9.9")
        assert (str(a) in redact.INTERNAL_FIRST_OCTETS) == (
            internal and all(not _reference_public(f"{a}.{b}.0.1") for b in range(256)))
