"""Property-based tests (hypothesis): the timestamp parsers, the redactor and one line reader,
fed generated input. Examples are bounded so the whole file runs in seconds."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from tools.models import Evidence, Malformed
from tools.readers.base import ReadContext
from tools.readers.generic_text import READER as TEXT_READER
from tools.redact import redact_text
from tools.timeformats import BY_NAME, Decoder, leading_stamp
from tools.timeparse import parse_ts

# Hypothesis keeps caches in ./.hypothesis: kept out of the shared checkout, and no example
# database, so every run draws afresh from its seed instead of replaying old failures silently.
set_hypothesis_home_dir(str(Path(tempfile.gettempdir()) / "postmortem-hypothesis"))
UTC = timezone.utc
# Bounded for the suite; raise it for a deeper hunt (POSTMORTEM_HYPOTHESIS_EXAMPLES=5000).
EXAMPLES = int(os.environ.get("POSTMORTEM_HYPOTHESIS_EXAMPLES") or 100)
FAST = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
PLACEHOLDER = re.compile(r"\[REDACTED:[a-z0-9_]+#(?:~[0-9a-f]+~)?\d+\]")

# Any text a log line may hold: printable and control characters, other scripts, surrogates excluded.
line_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)
# Times the layouts can write (their year patterns accept 1900-2199).
times = st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30), timezones=st.just(UTC))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


def _aware_utc(dt: datetime) -> bool:
    return dt.tzinfo is not None and dt.utcoffset() == timedelta(0)


# ---- tools/timeparse.py ------------------------------------------------------------------------
@FAST
@given(st.one_of(line_text, st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.none(),
                 st.binary(max_size=40), st.lists(st.integers(), max_size=3)))
def test_parse_ts_never_raises_and_gives_aware_utc(value: object) -> None:
    got = parse_ts(value)
    if got is not None:
        assert _aware_utc(got[0])


@FAST
@given(times, offsets)
def test_parse_ts_round_trips_iso_with_any_offset(t: datetime, tz: timezone) -> None:
    local = t.astimezone(tz)
    got = parse_ts(local.isoformat())
    assert got is not None and got[0] == t and _aware_utc(got[0]) and got[1] is False


@FAST
@given(times, offsets)
def test_parse_ts_applies_the_default_zone_to_naive_times(t: datetime, tz: timezone) -> None:
    naive = t.astimezone(tz).replace(tzinfo=None, microsecond=0)
    got = parse_ts(naive.strftime("%Y-%m-%d %H:%M:%S"), tz)
    assert got is not None and got[0] == t.replace(microsecond=0) and got[1] is True


# ---- tools/timeformats.py ----------------------------------------------------------------------
# How each dated layout writes a UTC time (strftime), mirroring the tools that emit them.
_WRITERS: dict[str, Callable[[datetime], str]] = {
    "iso8601": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    "clf": lambda t: t.strftime("[%d/%b/%Y:%H:%M:%S +0000]"),
    "ymd_slash": lambda t: t.strftime("%Y/%m/%d %H:%M:%S"),
    "dmy_mon": lambda t: t.strftime("%d-%b-%Y %H:%M:%S.%f")[:-3],
    "rfc2822": lambda t: t.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    "ctime": lambda t: t.strftime("[%a %b %d %H:%M:%S %Y]"),
    "jul": lambda t: t.strftime("%b %d, %Y %I:%M:%S %p"),
    "dmy_dot": lambda t: t.strftime("%d.%m.%Y %H:%M:%S"),
    "bgl": lambda t: t.strftime("%Y-%m-%d-%H.%M.%S.%f"),
    "glog_year": lambda t: t.strftime("I%Y%m%d %H:%M:%S.%f"),
}
# Writers that state the zone (Z, +0000, GMT); the others are naive, read in the default zone.
_ZONED = {"iso8601", "clf", "rfc2822"}
# Precision each writer keeps.
_KEEPS_US = {"iso8601", "bgl", "glog_year"}
_KEEPS_MS = {"dmy_mon"}


@FAST
@given(line_text)
def test_leading_stamp_never_raises_and_dates_are_aware(text: str) -> None:
    m = leading_stamp(text)
    if m is None:
        return
    for layout in BY_NAME.values():
        hit = layout.regex.match(text)
        if hit is None or not layout.has_year:
            continue
        try:
            dt, _ = Decoder(layout, UTC, None)(hit)
        except ValueError:
            continue  # documented: a match that is not a real time
        assert dt is None or _aware_utc(dt)


@FAST
@given(st.sampled_from(sorted(_WRITERS)), times)
def test_a_formatted_time_round_trips_through_its_layout(name: str, t: datetime) -> None:
    layout = BY_NAME[name]
    text = _WRITERS[name](t) + " INFO tail"
    m = layout.regex.match(text)
    assert m is not None, text
    dt, assumed = Decoder(layout, UTC, None)(m)
    want = t if name in _KEEPS_US else t.replace(microsecond=t.microsecond // 1000 * 1000 if name in _KEEPS_MS else 0)
    assert dt == want and dt is not None and _aware_utc(dt)
    assert assumed is (name not in _ZONED)


# ---- tools/redact.py ---------------------------------------------------------------------------
# Secret shapes of the vendors' documented formats (values random; body alphabets per vendor).
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_UPPER_NUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _body(n: int, alphabet: str = _ALNUM) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(alphabet), min_size=n, max_size=n)


secrets = st.one_of(
    _body(16, _UPPER_NUM).map(lambda b: "AKIA" + b),                 # AWS access key id
    _body(36).map(lambda b: "ghp_" + b),                              # GitHub personal token
    _body(20).map(lambda b: "glpat-" + b),                            # GitLab personal token
    _body(34).map(lambda b: "hf_" + b),                               # Hugging Face token
    _body(24).map(lambda b: "sk_live_" + b),                          # Stripe secret key
    _body(36).map(lambda b: "npm_" + b),                              # npm token
    _body(35).map(lambda b: "AIza" + b),                              # Google API key
    st.tuples(_body(8, "abcdefghijklmnopqrstuvwxyz"), _body(6, "abcdefghijklmnopqrstuvwxyz"))
      .map(lambda p: f"{p[0]}@{p[1]}.example.com"),                   # e-mail address
)
# Text around a secret: words and punctuation, set off by a space (a glued-on letter would make
# the value part of a longer word, which is not the documented shape).
filler = st.text(st.sampled_from("abcdefghij KLMNOP 0123 .,:;=-/()[]\"'"), max_size=30)


@FAST
@given(line_text)
def test_redaction_is_idempotent(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


@FAST
@given(line_text)
def test_redaction_never_lengthens_a_line_beyond_its_placeholders(text: str) -> None:
    out = redact_text(text)
    assert len(PLACEHOLDER.sub("", out)) <= len(text)


@FAST
@given(filler, secrets, filler)
def test_no_generated_secret_survives(before: str, secret: str, after: str) -> None:
    out = redact_text(f"{before} {secret} {after}")
    assert secret not in out
    assert PLACEHOLDER.search(out)


# ---- one line reader (the generic text reader, the last resort for any log) ---------------------
def _dated(p: tuple[datetime, str, str]) -> tuple[str, str]:
    return f"{p[0]:%Y-%m-%dT%H:%M:%S}Z {p[1]} {p[2]}", p[2]


# (line, its message): a dated line's time and level become fields; the message must stay text.
log_lines = st.lists(
    st.one_of(
        line_text.map(lambda t: (t, t)),
        st.tuples(times, st.sampled_from(["INFO", "ERROR", "warn", ""]), line_text).map(_dated),
    ),
    min_size=1, max_size=25,
)


@settings(max_examples=max(10, EXAMPLES * 2 // 5), deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_lines)
def test_text_reader_never_raises_and_keeps_every_line(lines: list[tuple[str, str]]) -> None:
    body = "\n".join(line for line, _ in lines) + "\n"
    with tempfile.TemporaryDirectory() as td:
        path = Path(td) / "app.log"
        path.write_bytes(body.encode("utf-8", "surrogatepass"))
        ctx = ReadContext(root=Path(td))
        out = list(TEXT_READER.read(path, "app.log", ctx))
    assert all(isinstance(x, (Evidence, Malformed)) for x in out)
    assert all(x.ts is None or _aware_utc(x.ts) for x in out if isinstance(x, Evidence))
    kept = "\n".join(x.text for x in out if isinstance(x, Evidence))
    # Every word of every message reaches some record (records normalise whitespace, so compare
    # words). A free-text line that happens to start with a time may lose that time to ts: skipped.
    words = {w for line, msg in lines if line != msg or leading_stamp(line.lstrip()) is None
             for w in msg.split() if w.isprintable()}
    missing = {w for w in words if w not in kept}
    assert not missing, missing
