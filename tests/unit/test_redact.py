"""Redaction: every secret kind is replaced, placeholders are stable, look-alikes survive."""

from __future__ import annotations

import pickle

import pytest

from tools import redact
from tools.redact import Redactor

PEM_BODY = "MIIEowIBAAKCAQEAx7Qk"
SECRETS = [
    ("openai_key", "calling with key sk-proj-" + "Ab3" * 12 + " now", "sk-proj-"),
    ("openai_key", "OPENAI_API_KEY=sk-" + "x9Y" * 10, "sk-x9Y"),
    ("anthropic_key", "key sk-ant-api03-" + "Q" * 30, "sk-ant-"),
    ("aws_access_key", "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("aws_access_key", "temporary ASIAY34FZKBOKMUTVV7A issued", "ASIAY34FZKBOKMUTVV7A"),
    ("aws_secret_key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
    ("aws_secret_key", '{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}', "wJalrXUtnFEMI"),
    ("github_token", "token ghp_" + "a1B2" * 9, "ghp_"),
    ("github_token", "oauth gho_" + "Zz09" * 9, "gho_"),
    ("github_token", "app ghs_" + "Qq12" * 9, "ghs_"),
    ("github_token", "user ghu_" + "Rr34" * 9, "ghu_"),
    ("github_token", "pat github_pat_" + "11AB" * 12, "github_pat_"),
    ("slack_token", "xoxb-1234567890-abcdefghij", "xoxb-"),
    ("slack_token", "xoxp-9876543210-zyxwvutsrq", "xoxp-"),
    ("jwt", "auth eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "eyJhbGci"),
    ("bearer_token", "Authorization: Bearer abcdefghijklmnop1234", "abcdefghijklmnop1234"),
    ("url_password", "connecting to postgres://svc:hunter2-S3cret@db:5432/app", "hunter2-S3cret"),
    ("password", "password=Tr0ub4dor&3x retry", "Tr0ub4dor"),
    ("password", "api_key: 9f8e7d6c5b4a", "9f8e7d6c5b4a"),
    ("password", "secret='n0t-for-you'", "n0t-for-you"),
    ("password", "token=abcdef123456", "abcdef123456"),
    ("email", "contact jane.doe@example.com for access", "jane.doe@example.com"),
    ("phone", "call +1 415-555-0199 (on-call)", "555-0199"),
    ("phone", "uk desk +44 20 7946 0958", "7946 0958"),
    ("phone", "pager (415) 555-0199", "555-0199"),
    ("phone", "sms 415.555.0199 now", "415.555.0199"),
    ("phone", "e164 +14155550199", "4155550199"),
    ("private_key", f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----", PEM_BODY),
    ("private_key", '{"key": "-----BEGIN PRIVATE KEY-----\\n' + PEM_BODY + '\\nabc', PEM_BODY),
    ("private_key", "-----BEGIN OPENSSH PRIVATE KEY----- " + PEM_BODY, PEM_BODY),
]


@pytest.mark.parametrize("kind,text,secret", SECRETS, ids=[f"{k}-{i}" for i, (k, _, _) in enumerate(SECRETS)])
def test_each_kind_is_redacted(kind: str, text: str, secret: str) -> None:
    r = Redactor()
    out = r.redact_text(text)
    assert secret not in out
    assert f"[REDACTED:{kind}#1]" in out
    assert r.counts[kind] >= 1


def test_labels_user_and_host_are_kept() -> None:
    r = Redactor()
    assert r.redact_text("postgres://svc:pw123456@db.internal:5432/app").startswith(
        "postgres://svc:[REDACTED:url_password#1]@db.internal:5432/app")
    assert r.redact_text("Authorization: Bearer abcdefghijklmnop1234") == "Authorization: Bearer [REDACTED:bearer_token#1]"
    assert r.redact_text("password=hunter2hunter2") == "password=[REDACTED:password#1]"


def test_placeholders_are_stable_and_numbered_by_first_appearance() -> None:
    r = Redactor()
    a = r.redact_text("from a@example.com to b@example.com")
    b = r.redact_text("again a@example.com and AKIAIOSFODNN7EXAMPLE")
    assert a == "from [REDACTED:email#1] to [REDACTED:email#2]"
    assert b == "again [REDACTED:email#1] and [REDACTED:aws_access_key#1]"
    assert r.counts == {"email": 3, "aws_access_key": 1}
    assert Redactor().redact_text("b@example.com") == "[REDACTED:email#1]"  # numbering is per run


def test_only_hashes_of_secrets_are_kept() -> None:
    r = Redactor()
    secret = "sk-proj-" + "Sec9" * 10
    r.redact_text(f"k={secret} mail ops@example.com")
    state = pickle.dumps(r.__dict__["_ids"]) + repr(r.counts).encode()
    assert secret.encode() not in state and b"ops@example.com" not in state


def test_objects_are_redacted_recursively_and_keys_kept() -> None:
    r = Redactor()
    out = r.redact_obj({"user": "ops@example.com", "tags": ["x", "AKIAIOSFODNN7EXAMPLE"], "n": 3,
                        "password": "short", "nested": {"Authorization": "Bearer tok", "max_tokens": 256}})
    assert out == {"user": "[REDACTED:email#1]", "tags": ["x", "[REDACTED:aws_access_key#1]"], "n": 3,
                   "password": "[REDACTED:password#1]",
                   "nested": {"Authorization": "[REDACTED:password#2]", "max_tokens": 256}}


@pytest.mark.parametrize("text", [
    "2024-10-08T14:02:11.123Z request served in 1234 ms",
    "2024-10-08 14:02:11,123 INFO done",
    "vllm==0.6.2 gpu_memory_utilization=0.95 max_num_seqs=256 version 10.2.213",
    "client 10.2.213.217 GET /api/v2/items?page=2 200 1532",
    "ip 192.168.100.200 and 172.16.254.1",
    "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span=00f067aa0ba902b7",
    "epoch 1714053787 step 3500 loss 1.41 ts_ms=1714053787123",
    "Apr 25 14:03:07 host app[123]: started",
    "[08/Oct/2024:14:02:11 +0000] GET / 200",
    "commit 78a236e49bfe2c1d0f3a4b5c6d7e8f9012345678",
    "the token budget of 60000 was not exceeded; max_tokens=4096 tokens_used=123456",
    "shapes 512 4096 8192 and 1024 2048 4096",
    "uuid 123e4567-e89b-12d3-a456-426614174000",
    "pip install torch==2.4.1+cu121",
    "@app.route('/health') decorator; pkg@1.2.3",
    "disk-skip sk-short",
])
def test_look_alikes_are_not_redacted(text: str) -> None:
    r = Redactor()
    assert r.redact_text(text) == text
    assert r.counts == {}


def test_already_redacted_text_is_left_alone() -> None:
    r = Redactor()
    once = r.redact_text("key sk-proj-" + "Zz9" * 12 + " password=hunter2hunter2")
    assert r.redact_text(once) == once


def test_clean_lines_skip_every_pattern(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path: lines with no candidate never reach a regex."""
    calls: list[str] = []

    class Spy:
        def __init__(self, kind: str) -> None:
            self.kind = kind

        def sub(self, repl: object, text: str) -> str:
            calls.append(self.kind)
            return text

    kinds = [redact._Kind(k.name, Spy(k.name), k.group) for k in redact._KINDS]  # type: ignore[arg-type]
    monkeypatch.setattr(redact, "_KINDS", kinds)
    r = Redactor()
    r.redact_text('{"ts":"2024-10-08T14:02:11Z","level":"info","msg":"served","latency_ms":12}')
    r.redact_text("E1008 14:03:07.123456 1 server.go:42] CUDA out of memory")
    assert calls == []
    r.redact_text("mail ops@example.com")
    assert calls == ["email"]


def test_module_level_helper() -> None:
    assert redact.redact_text("x jane@example.com") == "x [REDACTED:email#1]"


def test_flat_dicts_take_the_fast_path_but_secret_keys_still_hide() -> None:
    r = Redactor()
    clean = {"level": "info", "msg": "request served", "latency_ms": 12.5}
    assert r.redact_obj(clean) is clean
    assert r.redact_obj({"msg": "ok", "api_key": "abc"}) == {"msg": "ok", "api_key": "[REDACTED:password#1]"}
    assert r.redact_obj({"msg": "mail ops@example.com"}) == {"msg": "mail [REDACTED:email#1]"}


def test_one_pass_screen_answers_as_the_word_by_word_checks() -> None:
    import random

    from tools.redact import LABEL_WORDS, LABELLED, PHONE_SHAPES, SHAPED_WORDS, _phone_shaped
    from tools.screen import screen
    from tools.untrusted import CUES, has_cue

    def could_hold_secret(text: str, low: str) -> bool:
        # The word-by-word screen the automaton replaced: the oracle it must agree with.
        if any(word in low for word in SHAPED_WORDS):
            return True
        if any(word in low for word in LABEL_WORDS) and LABELLED.search(low):
            return True
        return _phone_shaped(text)

    rng = random.Random(11)
    pieces = [*SHAPED_WORDS, *LABEL_WORDS, *CUES, *PHONE_SHAPES, "+", "+1 ", "+44 20 ", "+14155550199", "(415)",
              "415-555-0199", "415.555.0199", "1-", "=", ":", " ", "\n", "\"", "'", "_x", "GHP_", "Bearer ",
              "ＡＫＩＡ", "İ", "é", "４１５", "٣", "\udcff", "10.2.3.4", "2024-10-08 12:00:00,123", "ok", "SeCrEt"]
    mismatches = []
    for _ in range(20000):
        blob = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
        low = blob.lower()
        want = (could_hold_secret(blob, low), has_cue(low))
        if screen(blob, low) != want:
            mismatches.append(blob)
    assert not mismatches, mismatches[:5]
    # and the Unicode-digit phone the ASCII shapes cannot see is still screened in (then redacted)
    assert screen("call ４１５-５５５-０１９９", "call ４１５-５５５-０１９９")[0]
    assert "５５５" not in redact.redact_text("call ４１５-５５５-０１９９ now")


def test_client_addresses_are_pseudonymised_consistently_and_internal_ones_kept() -> None:
    r = Redactor()
    a = r.redact_text("client 203.0.113.9 then 198.51.100.4 then 203.0.113.9 via 10.0.3.7 and 127.0.0.1")
    assert a == ("client [REDACTED:ipv4#1] then [REDACTED:ipv4#2] then [REDACTED:ipv4#1] via 10.0.3.7 and 127.0.0.1")
    b = r.redact_text("v6 2001:db8:5::17 and fe80::1 and ::1")
    assert b == "v6 [REDACTED:ipv6#1] and fe80::1 and ::1"
    assert r.redact_text("from 203.0.113.9 again") == "from [REDACTED:ipv4#1] again"  # same address, same placeholder


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112 failed",  # Luhn digit wrong
    "ts_ms=1714053787123 and 1714053787123456",  # epoch milliseconds/microseconds: no card network starts with 1
    "ssn-like 000-12-3456 and 666-12-3456",  # area numbers never issued
    "version 1.2.3.4.5 and v10.20.30.40",  # dotted versions are not addresses
    "mac 00:1a:2b:3c:4d:5e at 12:00:00",
    "basic auth enabled; Basic authentication",
])
def test_pii_look_alikes_are_kept(text: str) -> None:
    assert Redactor().redact_text(text) == text


def test_labels_after_an_underscore_and_in_structured_keys_are_secret() -> None:
    r = Redactor()
    assert r.redact_text("DD_API_KEY=abcdef0123456789") == "DD_API_KEY=[REDACTED:password#1]"
    assert r.redact_obj({"POSTGRES_PASSWORD": "pw", "max_tokens": "4096"}) == {
        "POSTGRES_PASSWORD": "[REDACTED:password#2]", "max_tokens": "4096"}


def test_kind_names_with_digits_survive_parallel_renumbering() -> None:
    worker = Redactor(tag="ab12")
    text = worker.redact_text("client 203.0.113.9")
    parent = Redactor()
    parent.redact_text("first 198.51.100.4")
    mapping = parent.renumber(worker.seen(), worker.counts)
    assert redact.retag(text, "ab12", mapping) == "client [REDACTED:ipv4#2]"
