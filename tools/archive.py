"""Safe extraction of .zip / .tar(.gz|.bz2|.xz) / .tgz dumps.

Every member is checked before anything is written: no absolute paths, no `..`, no links leading
out of the destination, no device files, and a cap on the total bytes actually written (counted
while streaming, so a lying header cannot get past it). A rejected member is counted and reported;
extraction never raises for a bad member.

Caps hold for the dump as a whole: one `Budget` is shared by every archive, nested archive and
compressed file of a dump (tools/decompress.py), so nesting cannot multiply the size limit. Each
archive or compressed stream also may not expand past MAX_RATIO times its own size (once it has
written RATIO_FLOOR bytes): real logs compress 5-50x, decompression bombs 1000x and more.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pydantic import BaseModel, Field

DEFAULT_MAX_BYTES = 2 * 1024**3
# Expansion cap per archive / compressed file. Repetitive logs reach ~100x with xz or zstd -19;
# deflate cannot exceed ~1030x per layer, the other formats reach millions.
MAX_RATIO = 250
# Below this many bytes written the ratio is not checked: a tiny archive of a small log can
# legitimately have a large ratio, and this little output harms nobody.
RATIO_FLOOR = 64 * 1024 * 1024
_CHUNK = 1024 * 1024


@dataclass
class Budget:
    """Bytes every extraction and decompression of one dump may write in total."""

    max_bytes: int = DEFAULT_MAX_BYTES
    used: int = 0

    def left(self) -> int:
        return max(0, self.max_bytes - self.used)


def ratio_cap(packed_bytes: int) -> int:
    """Most bytes a source of `packed_bytes` may expand to before it is stopped as a bomb."""
    return max(RATIO_FLOOR, MAX_RATIO * max(packed_bytes, 1))


def size_limit_reason(budget: Budget) -> str:
    return f"size limit of {budget.max_bytes} bytes for the whole dump reached"


def ratio_reason(packed_bytes: int) -> str:
    return f"expands more than {MAX_RATIO} times its compressed size of {packed_bytes} bytes (possible decompression bomb)"


class Rejected(BaseModel):
    member: str
    reason: str


MAX_LISTED = 1000


class ExtractReport(BaseModel):
    archive: str
    dest: str
    extracted: int = 0
    bytes_written: int = 0
    rejected: list[Rejected] = Field(default_factory=list)  # the first MAX_LISTED rejections
    rejected_total: int = 0
    limit_reached: bool = False
    error: str = ""  # the archive itself could not be opened


def _reject(report: ExtractReport, member: str, reason: str) -> None:
    report.rejected_total += 1
    if len(report.rejected) < MAX_LISTED:
        report.rejected.append(Rejected(member=member, reason=reason))


def archive_type(path: Path) -> str | None:
    """"zip" or "tar" from the file's magic bytes (names lie; content decides)."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")):
        return "tar" if _is_compressed_tar(path) else None
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return None


def _is_compressed_tar(path: Path) -> bool:
    try:
        with tarfile.open(path, "r:*") as tf:
            return tf.next() is not None
    except (tarfile.TarError, OSError, EOFError):
        return False


def _safe_rel(name: str) -> str | None:
    """Normalised relative member path, or None if it is absolute or climbs out."""
    n = name.replace("\\", "/")
    if n.startswith("/") or (len(n) > 1 and n[1] == ":"):
        return None
    parts = [p for p in n.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _inside(dest: Path, rel_link_target: str, member_rel: str) -> bool:
    """Does a link at `member_rel` pointing at `rel_link_target` stay inside dest?"""
    if rel_link_target.startswith("/") or (len(rel_link_target) > 1 and rel_link_target[1] == ":"):
        return False
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(member_rel), rel_link_target))
    return not (joined == ".." or joined.startswith("../"))


class _Writer:
    def __init__(self, dest: Path, budget: Budget, report: ExtractReport, packed_bytes: int) -> None:
        self.dest = dest
        self.budget = budget
        self.report = report
        self.packed_bytes = packed_bytes
        self.cap = ratio_cap(packed_bytes)

    def over(self, more: int) -> str | None:
        """Why writing `more` bytes would break a cap, or None."""
        if self.budget.used + more > self.budget.max_bytes:
            return size_limit_reason(self.budget)
        if self.report.bytes_written + more > self.cap:
            return ratio_reason(self.packed_bytes)
        return None

    def write(self, rel: str, src: IO[bytes], member: str) -> bool:
        """Stream one member to disk; False (and the partial file removed) when the cap is hit."""
        target = self.dest / rel
        if target.is_symlink() or target.is_dir():
            _reject(self.report, member=member, reason="path already exists as a directory or link")
            return True
        # Check the nearest existing ancestor before creating anything beneath it.
        anchor = target.parent
        while not anchor.exists() and anchor != self.dest:
            anchor = anchor.parent
        if not anchor.resolve().is_relative_to(self.dest.resolve()):
            _reject(self.report, member=member, reason="parent directory leads outside the destination")
            return True
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as out:
            while True:
                chunk = src.read(_CHUNK)
                if not chunk:
                    break
                why = self.over(len(chunk))
                if why is not None:
                    out.close()
                    target.unlink(missing_ok=True)
                    self.report.limit_reached = True
                    _reject(self.report, member=member, reason=why)
                    return False
                out.write(chunk)
                self.report.bytes_written += len(chunk)
                self.budget.used += len(chunk)
        self.report.extracted += 1
        return True


def safe_extract(
    archive: Path, dest: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, budget: Budget | None = None
) -> ExtractReport:
    """Extract `archive` into `dest` (created if needed) under the rules in the module docstring.

    `budget` is shared with the dump's other archives; without one, `max_bytes` caps this call."""
    dest.mkdir(parents=True, exist_ok=True)
    report = ExtractReport(archive=str(archive), dest=str(dest))
    kind = archive_type(archive)
    try:
        w = _Writer(dest, budget if budget is not None else Budget(max_bytes), report, archive.stat().st_size)
        if kind == "zip":
            _extract_zip(archive, w)
        elif kind == "tar":
            _extract_tar(archive, w)
        else:
            report.error = "not a zip or tar archive"
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        # A truncated or corrupt archive: keep what was extracted, say why it stopped.
        report.error = f"archive damaged or unreadable: {exc.__class__.__name__}: {exc}"[:300]
    return report


def _skip_rest(names: list[str], report: ExtractReport) -> None:
    for n in names:
        _reject(report, member=n, reason="not extracted: size limit reached earlier")


def _extract_zip(archive: Path, w: _Writer) -> None:
    dest, report = w.dest, w.report
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for i, info in enumerate(infos):
            rel = _safe_rel(info.filename)
            if rel is None:
                _reject(report, member=info.filename, reason="absolute path or '..' in member name")
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                target = zf.read(info).decode("utf-8", errors="replace")
                _link(dest, rel, target, info.filename, report)
                continue
            if info.is_dir():
                (dest / rel).mkdir(parents=True, exist_ok=True)
                continue
            with zf.open(info) as src:
                if not w.write(rel, src, info.filename):
                    _skip_rest([x.filename for x in infos[i + 1:] if not x.is_dir()], report)
                    return


def _link(dest: Path, rel: str, target: str, member: str, report: ExtractReport) -> None:
    if not _inside(dest, target, rel):
        _reject(report, member=member, reason=f"link points outside the archive ({target})")
        return
    path = dest / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        _reject(report, member=member, reason="path already exists")
        return
    os.symlink(target, path)
    # Lexical checks miss chains of links; the resolved path is the final word.
    if not path.resolve().is_relative_to(dest.resolve()):
        path.unlink()
        _reject(report, member=member, reason=f"link resolves outside the archive ({target})")
        return
    report.extracted += 1


def _extract_tar(archive: Path, w: _Writer) -> None:
    dest, report = w.dest, w.report
    with tarfile.open(archive, "r:*") as tf:
        members = iter(tf)
        for m in members:
            rel = _safe_rel(m.name)
            if rel is None:
                _reject(report, member=m.name, reason="absolute path or '..' in member name")
                continue
            if m.isdir():
                (dest / rel).mkdir(parents=True, exist_ok=True)
                continue
            if m.issym():
                _link(dest, rel, m.linkname, m.name, report)
                continue
            if m.islnk():
                # Hard link: copy the already-extracted target, if it is inside and present.
                trel = _safe_rel(m.linkname)
                if trel is None or not (dest / trel).is_file() or (dest / trel).is_symlink():
                    _reject(report, member=m.name, reason=f"hard link to a path outside the archive or missing ({m.linkname})")
                    continue
                with open(dest / trel, "rb") as src:
                    if not w.write(rel, src, m.name):
                        _skip_rest([x.name for x in members if x.isfile()], report)
                        return
                continue
            if not m.isfile():
                _reject(report, member=m.name, reason="device, fifo or other special file")
                continue
            why = w.over(m.size)  # the header's size: refused before a byte is written
            if why is not None:
                report.limit_reached = True
                _reject(report, member=m.name, reason=why)
                _skip_rest([x.name for x in members if x.isfile()], report)
                return
            data = tf.extractfile(m)
            if data is None:
                _reject(report, member=m.name, reason="unreadable member")
                continue
            with data:
                if not w.write(rel, data, m.name):
                    _skip_rest([x.name for x in members if x.isfile()], report)
                    return


def remove_tree(path: Path) -> None:
    """Delete a previous extraction (links are removed, never followed)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
