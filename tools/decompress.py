"""The door every file passes before a reader sees it: compressed single files and text encodings.

Readers read UTF-8 bytes (line slicing for the worker processes works on byte offsets), so
anything else is turned into a UTF-8 file under the workdir first, as an extracted archive member
is, and read from there under its original relative path (ids stay those of the original name):

- `.gz` / `.bz2` / `.xz` / `.zst` single files are decompressed as streams, under the dump-wide
  size budget and the per-source ratio cap of tools/archive.py. A truncated stream (a log copied
  while it was being written) keeps what was decompressed before the damage.
- UTF-16 / UTF-32 (with a byte-order mark, or UTF-16 recognised by its zero bytes) and UTF-8 with
  a byte-order mark are transcoded to plain UTF-8; JSON parsers reject a leading BOM.
- A file is binary only when control bytes make up a real share of its head. Runs of NUL bytes
  (the zero-filled tail a crash leaves in a log) are not counted against it.

Invalid UTF-8 in a plain file is left in place (readers replace it) and counted here in one
pass, so the source's note can say how many bytes were replaced.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import lzma
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.archive import Budget, ratio_cap, ratio_reason, size_limit_reason

try:  # declared in pyproject; without it .zst files are skipped with a note, nothing else changes
    import zstandard
except ImportError:  # pragma: no cover - only on an incomplete install
    zstandard = None  # type: ignore[assignment]

_CHUNK = 1024 * 1024

MAGIC: dict[bytes, str] = {
    b"\x1f\x8b": "gzip",
    b"BZh": "bzip2",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
}
# Name endings dropped from a decompressed file's name, so name-based sniffing sees "app.jsonl".
_SUFFIXES: dict[str, str] = {
    ".gz": "", ".gzip": "", ".bz2": "", ".xz": "", ".zst": "", ".zstd": "",
    ".tgz": ".tar", ".tbz2": ".tar", ".tbz": ".tar", ".txz": ".tar", ".tzst": ".tar",
}

# Share of control bytes (outside NUL runs) above which a head is binary. Random or compressed
# data has about 11%; text has none or a stray few.
BINARY_CONTROL_SHARE = 0.05
# This many NULs in a row are padding (zero-filled blocks), not content.
NUL_RUN = 16
_NUL_RUNS = re.compile(rb"\x00{%d,}" % NUL_RUN)
# Control bytes: C0 except tab, LF, VT, FF, CR and ESC (terminal colours in logs), plus DEL.
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\x0b\x0c\r\x1b") + b"\x7f"
_NOT_CONTROL = bytes(b for b in range(256) if b not in _CONTROL)
# A UTF-16 head without BOM: at least this share of one byte lane is zero, almost none of the other.
_UTF16_ZERO_LANE = 0.3
_UTF16_OTHER_LANE = 0.02
_BOMS: list[tuple[bytes, str]] = [  # UTF-32 first: its LE mark begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
]


# ---- compression ------------------------------------------------------------------------------
def compression_of(head: bytes) -> str | None:
    """"gzip", "bzip2", "xz" or "zstd" from the magic bytes, else None."""
    for magic, method in MAGIC.items():
        if head.startswith(magic):
            return method
    return None


def inner_name(name: str) -> str:
    """The name a compressed file had before compression ("app.jsonl.gz" -> "app.jsonl")."""
    lower = name.lower()
    for suffix, repl in _SUFFIXES.items():
        if lower.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)] + repl
    return name


@dataclass
class Unpacked:
    """Outcome of one decompression: the file written (None if nothing usable) and what happened."""

    path: Path | None
    bytes_written: int
    note: str
    complete: bool


class _Truncated(EOFError):
    """The input ended inside a compressed stream (the file was copied while being written)."""


def _decompressor(method: str) -> Any:
    if method == "gzip":
        return zlib.decompressobj(wbits=31)  # 31: a gzip header and trailer around deflate data
    if method == "bzip2":
        return bz2.BZ2Decompressor()
    if method == "xz":
        return lzma.LZMADecompressor()
    if method == "zstd" and zstandard is not None:
        return zstandard.ZstdDecompressor().decompressobj()
    raise ValueError(f"no decompressor for {method} (for .zst: install the zstandard package)")


def _expand(d: Any, method: str, data: bytes) -> Iterator[bytes]:
    """Everything `data` decompresses to, in pieces of at most _CHUNK where the codec can bound it."""
    if method == "gzip":
        while data:
            out = d.decompress(data, _CHUNK)
            data = d.unconsumed_tail
            yield out
    elif method == "zstd":
        # No output bound in this API: inputs are kept small instead (_ZSTD_BLOCK) so that even
        # an all-RLE block stream expands to tens of MB per call, never GB.
        yield d.decompress(data)
    else:
        out = d.decompress(data, _CHUNK)
        yield out
        while not d.eof and not d.needs_input:
            yield d.decompress(b"", _CHUNK)


# zstd input per call: a 4-byte RLE block expands to 128 KB, so 2 KB of input to at most ~64 MB.
_ZSTD_BLOCK = 2048


def _stream(src: Path, method: str) -> Iterator[bytes]:
    """Decompressed bytes of `src`, across concatenated members/frames. Data before damage or a
    cut-off end is yielded first; then the error is raised, so no loss goes unreported.

    The codecs' incremental objects are used rather than gzip.open & co., which lose the output of
    the read call that meets a truncated end (and zstd's stream reader stops silently there)."""
    block = _ZSTD_BLOCK if method == "zstd" else 64 * 1024
    d, fed = _decompressor(method), False
    with open(src, "rb") as f:
        while data := f.read(block):
            while data:
                fed = True
                yield from _expand(d, method, data)
                data = b""
                if d.eof:
                    # Another member follows (concatenated gzip, multi-frame zstd); NUL padding ends it.
                    data = d.unused_data.lstrip(b"\x00") if method != "zstd" else d.unused_data
                    d, fed = _decompressor(method), False
    if fed and not d.eof:
        raise _Truncated("the data ends before the end of the compressed stream")


_STREAM_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error)
if zstandard is not None:
    _STREAM_ERRORS += (zstandard.ZstdError,)


def decompress_file(src: Path, dest_dir: Path, method: str, budget: Budget) -> Unpacked:
    """Stream `src` into `dest_dir/<inner name>` under the dump's budget and the ratio cap.

    Whatever was written before a cap or a damaged stream stopped it is kept and said so."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / inner_name(src.name)
    packed = src.stat().st_size
    cap = ratio_cap(packed)
    written, stop = 0, ""
    try:
        with open(target, "wb") as out:
            for chunk in _stream(src, method):
                room = min(budget.left(), cap - written)
                if len(chunk) > room:
                    stop = size_limit_reason(budget) if budget.left() <= cap - written else ratio_reason(packed)
                    # Keep whole lines only: a record cut in half would be read as a wrong one.
                    chunk = chunk[: chunk.rfind(b"\n", 0, room) + 1]
                out.write(chunk)
                written += len(chunk)
                budget.used += len(chunk)
                if stop:
                    break
    except _STREAM_ERRORS as exc:
        stop = f"{method} stream damaged or truncated ({exc.__class__.__name__}: {exc})"[:300]
    return _unpacked(target, method, written, stop)


def _unpacked(target: Path, method: str, written: int, stop: str) -> Unpacked:
    if written == 0:
        target.unlink(missing_ok=True)
        why = stop or "it decompresses to nothing"
        return Unpacked(None, 0, f"skipped: {method} file, nothing could be decompressed: {why}", False)
    if stop:
        note = f"decompressed ({method}) only the first {written} bytes: {stop}; the rest is not read"
        return Unpacked(target, written, note, False)
    return Unpacked(target, written, f"decompressed ({method}, {written} bytes)", True)


# ---- text or binary, and which encoding -------------------------------------------------------
@dataclass
class TextVerdict:
    """`encoding` None: binary (see `reason`). "utf-8" with `bom` False: read the file as it is."""

    encoding: str | None
    bom: bool = False
    reason: str = ""

    @property
    def needs_transcoding(self) -> bool:
        return self.encoding is not None and (self.bom or self.encoding != "utf-8")


def _control_share(head: bytes) -> tuple[float, int]:
    """(control bytes / non-padding bytes, non-padding bytes)."""
    padding = sum(len(m) for m in _NUL_RUNS.findall(head))
    control = len(head.translate(None, _NOT_CONTROL)) - padding
    content = len(head) - padding
    return (control / content if content else 1.0), content


def _utf16_without_bom(head: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" when one byte lane is mostly zeros and the text decodes cleanly."""
    pairs = len(head) // 2
    if pairs < 8:
        return None
    even_zeros, odd_zeros = head[0 : pairs * 2 : 2].count(0), head[1 : pairs * 2 : 2].count(0)
    if odd_zeros >= _UTF16_ZERO_LANE * pairs and even_zeros <= _UTF16_OTHER_LANE * pairs:
        encoding = "utf-16-le"
    elif even_zeros >= _UTF16_ZERO_LANE * pairs and odd_zeros <= _UTF16_OTHER_LANE * pairs:
        encoding = "utf-16-be"
    else:
        return None
    text = head[: pairs * 2].decode(encoding, errors="replace")
    share, _ = _control_share(text.encode("utf-8", errors="replace"))
    bad = text.count("\ufffd")
    return encoding if share <= BINARY_CONTROL_SHARE and bad <= 0.01 * len(text) + 1 else None


def sniff_text(head: bytes) -> TextVerdict:
    """Text (and its encoding) or binary, from the first bytes of a file."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return TextVerdict(encoding, bom=True)
    share, content = _control_share(head)
    if share <= BINARY_CONTROL_SHARE and content > 0:
        return TextVerdict("utf-8")
    utf16 = _utf16_without_bom(head)
    if utf16 is not None:
        return TextVerdict(utf16)
    if content == 0:
        return TextVerdict(None, reason=f"skipped: only NUL bytes in its first {len(head)} bytes (a zero-filled file); "
                                        "nothing to read")
    return TextVerdict(None, reason=f"skipped: binary file ({share:.0%} control bytes in its first {len(head)} bytes); "
                                    "export it as text (UTF-8 or UTF-16) to include it")


class _Counter:
    """A codec error handler that replaces like errors="replace" and counts the bytes replaced."""

    def __init__(self) -> None:
        self.bytes = 0

    def __call__(self, exc: UnicodeError) -> tuple[str, int]:
        if not isinstance(exc, UnicodeDecodeError):
            raise exc
        self.bytes += exc.end - exc.start
        return "\ufffd", exc.end


_ACTIVE: list[_Counter] = []


def _dispatch(exc: UnicodeError) -> tuple[str, int]:
    return _ACTIVE[-1](exc)


codecs.register_error("postmortem-count", _dispatch)


@contextmanager
def _counting() -> Iterator[_Counter]:
    counter = _Counter()
    _ACTIVE.append(counter)
    try:
        yield counter
    finally:
        _ACTIVE.pop()


_SCAN_BLOCK = 64 * 1024


def count_invalid_utf8(path: Path) -> int:
    """Bytes of `path` that are not valid UTF-8 (what readers will replace). ASCII blocks are
    skipped at memory speed and valid UTF-8 ones at C decoding speed; only a block with a bad
    byte goes through the counting decoder."""
    bad, carry = 0, b""  # carry: the start of a character split across blocks
    with open(path, "rb", buffering=_CHUNK) as f:
        # Small blocks: a stray non-ASCII character sends only its own block through the decoder.
        while block := f.read(_SCAN_BLOCK):
            data = carry + block if carry else block
            carry = b""
            if data.isascii():
                continue
            try:
                data.decode("utf-8")
                continue
            except UnicodeDecodeError as exc:
                if exc.reason == "unexpected end of data":  # only the last character is cut off
                    carry = data[exc.start:]
                    continue
            n, carry = _count_block(data)
            bad += n
    if carry:
        bad += _count_block(carry, final=True)[0]
    return bad


def _count_block(data: bytes, final: bool = False) -> tuple[int, bytes]:
    """(invalid bytes in `data`, an incomplete character left at its end)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="postmortem-count")
    with _counting() as counter:
        decoder.decode(data, final=final)
        return counter.bytes, decoder.getstate()[0]


@dataclass
class Transcoded:
    path: Path
    replaced: int  # bytes that were not valid in the source encoding
    note: str


def transcode(src: Path, dest_dir: Path, verdict: TextVerdict, budget: Budget) -> Transcoded | None:
    """Write `src` as UTF-8 without BOM to `dest_dir/<same name>`; None when the budget is spent.

    A UTF-16 file grows by at most half when transcoded, a BOM-only copy not at all; either way
    the copy counts against the dump's extraction budget."""
    assert verdict.encoding is not None
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / src.name
    decoder = codecs.getincrementaldecoder(verdict.encoding)(errors="postmortem-count")
    first, written = True, 0
    with _counting() as counter, open(src, "rb") as f, open(target, "wb") as out:
        while True:
            block = f.read(_CHUNK)
            text = decoder.decode(block, final=not block)
            if first and text:
                text, first = text.removeprefix("\ufeff"), False
            data = text.encode("utf-8", errors="surrogatepass")
            if budget.used + len(data) > budget.max_bytes:
                out.close()
                target.unlink(missing_ok=True)
                return None
            out.write(data)
            written += len(data)
            budget.used += len(data)
            if not block:
                break
    what = "UTF-8 byte-order mark removed" if verdict.encoding == "utf-8" else f"transcoded from {verdict.encoding.upper()}"
    note = what + (f"; {counter.bytes} invalid bytes replaced" if counter.bytes else "")
    return Transcoded(target, counter.bytes, note)
