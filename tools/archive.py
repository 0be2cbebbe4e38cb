"""Safe extraction of .zip / .tar(.gz|.bz2|.xz) / .tgz dumps.

Every member is checked before anything is written: no absolute paths, no `..`, no links leading
out of the destination, no device files, and a cap on the total bytes actually written (counted
while streaming, so a lying header cannot get past it). A rejected member is counted and reported;
extraction never raises for a bad member.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path
from typing import IO

from pydantic import BaseModel, Field

DEFAULT_MAX_BYTES = 2 * 1024**3
_CHUNK = 1024 * 1024


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
    def __init__(self, dest: Path, max_bytes: int, report: ExtractReport) -> None:
        self.dest = dest
        self.max_bytes = max_bytes
        self.report = report

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
                if self.report.bytes_written + len(chunk) > self.max_bytes:
                    out.close()
                    target.unlink(missing_ok=True)
                    self.report.limit_reached = True
                    _reject(self.report, member=member, reason=f"size limit of {self.max_bytes} bytes reached")
                    return False
                out.write(chunk)
                self.report.bytes_written += len(chunk)
        self.report.extracted += 1
        return True


def safe_extract(archive: Path, dest: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ExtractReport:
    """Extract `archive` into `dest` (created if needed) under the rules in the module docstring."""
    dest.mkdir(parents=True, exist_ok=True)
    report = ExtractReport(archive=str(archive), dest=str(dest))
    kind = archive_type(archive)
    try:
        if kind == "zip":
            _extract_zip(archive, dest, max_bytes, report)
        elif kind == "tar":
            _extract_tar(archive, dest, max_bytes, report)
        else:
            report.error = "not a zip or tar archive"
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        # A truncated or corrupt archive: keep what was extracted, say why it stopped.
        report.error = f"archive damaged or unreadable: {exc.__class__.__name__}: {exc}"[:300]
    return report


def _skip_rest(names: list[str], report: ExtractReport) -> None:
    for n in names:
        _reject(report, member=n, reason="not extracted: size limit reached earlier")


def _extract_zip(archive: Path, dest: Path, max_bytes: int, report: ExtractReport) -> None:
    w = _Writer(dest, max_bytes, report)
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


def _extract_tar(archive: Path, dest: Path, max_bytes: int, report: ExtractReport) -> None:
    w = _Writer(dest, max_bytes, report)
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
            if m.size > max_bytes - report.bytes_written:
                report.limit_reached = True
                _reject(report, member=m.name, reason=f"size limit of {max_bytes} bytes reached")
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
