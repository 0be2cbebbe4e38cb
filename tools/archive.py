"""Safe extraction of .zip / .tar(.gz|.bz2|.xz) / .tgz dumps.

Every member is checked before anything is written: no absolute paths, no `..`, no links leading
out of the destination, no device files, and a cap on the total bytes actually written (counted
while streaming, so a lying header cannot get past it). A rejected member is counted and reported;
extraction never raises for a bad member, and an error on one member (a name too long for the
file system, say) costs that member only.

Links: a symbolic link is made only when its target already exists and resolves inside the
destination, and a hard link is copied only from a regular file that resolves inside it. A link
whose target is missing is refused: a later member could otherwise create the missing part and
turn the link into a path to the host's file system (e.g. `p -> s/../..` made before `s -> ../..`).
After extraction every link is resolved once more and removed if it leads outside.

Extraction goes to a temporary sibling folder renamed to the destination at the end, and removed
if extraction fails with an unexpected error, so a crash never leaves a half-written folder that
a rerun would read as complete.

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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from pydantic import BaseModel, Field

DEFAULT_MAX_BYTES = 2 * 1024**3
# Expansion cap per archive / compressed file. Repetitive logs reach ~100x with xz or zstd -19;
# deflate cannot exceed ~1030x per layer, the other formats reach millions.
MAX_RATIO = 250
# Below this many bytes written the ratio is not checked: a tiny archive of a small log can
# legitimately have a large ratio, and this little output harms nobody.
RATIO_FLOOR = 64 * 1024 * 1024
# Entries (files, folders, links) one dump may create across all its archives: a zip of a million
# empty members writes no bytes but exhausts inodes and the scan. Real dumps hold thousands.
DEFAULT_MAX_FILES = 200_000
_CHUNK = 1024 * 1024


@dataclass
class Budget:
    """Bytes every extraction and decompression of one dump may write in total."""

    max_bytes: int = DEFAULT_MAX_BYTES
    used: int = 0
    max_files: int = DEFAULT_MAX_FILES
    files: int = 0

    def left(self) -> int:
        return max(0, self.max_bytes - self.used)


def ratio_cap(packed_bytes: int) -> int:
    """Most bytes a source of `packed_bytes` may expand to before it is stopped as a bomb."""
    return max(RATIO_FLOOR, MAX_RATIO * max(packed_bytes, 1))


def size_limit_reason(budget: Budget) -> str:
    return f"size limit of {budget.max_bytes} bytes for the whole dump reached"


def count_reason(budget: Budget) -> str:
    return f"limit of {budget.max_files} extracted files for the whole dump reached"


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
        """Why writing `more` bytes (in one more entry) would break a cap, or None."""
        if self.budget.files >= self.budget.max_files:
            return count_reason(self.budget)
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
        why = self.over(0)
        if why is not None:
            self.report.limit_reached = True
            _reject(self.report, member=member, reason=why)
            return False
        self.budget.files += 1
        try:
            return self._stream(target, src, member)
        except OSError:
            try:
                target.unlink(missing_ok=True)  # never leave a partial file behind
            except OSError:
                pass  # the name itself was refused: nothing was created
            raise

    def _stream(self, target: Path, src: IO[bytes], member: str) -> bool:
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
    """Extract `archive` into `dest` under the rules in the module docstring.

    `budget` is shared with the dump's other archives; without one, `max_bytes` caps this call."""
    report = ExtractReport(archive=str(archive), dest=str(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.partial-{os.getpid()}")
    remove_tree(tmp)
    tmp.mkdir()
    try:
        _extract_into(archive, tmp, report, budget if budget is not None else Budget(max_bytes))
        _sweep_links(tmp, report)
        _move_into_place(tmp, dest)
    except BaseException:
        remove_tree(tmp)  # a crash leaves nothing a rerun would mistake for a finished extraction
        raise
    return report


def _extract_into(archive: Path, tmp: Path, report: ExtractReport, budget: Budget) -> None:
    kind = archive_type(archive)
    try:
        w = _Writer(tmp, budget, report, archive.stat().st_size)
        if kind == "zip":
            _extract_zip(archive, w)
        elif kind == "tar":
            _extract_tar(archive, w)
        else:
            report.error = "not a zip or tar archive"
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        # A truncated or corrupt archive: keep what was extracted, say why it stopped.
        report.error = f"archive damaged or unreadable: {exc.__class__.__name__}: {exc}"[:300]


def _move_into_place(tmp: Path, dest: Path) -> None:
    """Rename the finished extraction to `dest`; an existing empty `dest` folder is replaced, a
    non-empty one gets the new entries moved in (callers normally clear it first)."""
    if dest.is_dir() and not dest.is_symlink():
        if any(dest.iterdir()):
            for child in list(tmp.iterdir()):
                target = dest / child.name
                remove_tree(target)
                os.replace(child, target)
            tmp.rmdir()
            return
        dest.rmdir()
    elif dest.exists() or dest.is_symlink():
        remove_tree(dest)
    os.replace(tmp, dest)


def _sweep_links(root: Path, report: ExtractReport) -> None:
    """Remove every link that resolves outside `root` (defence in depth behind `_link`)."""
    root_res = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            if p.is_symlink() and not _resolves_inside(p, root_res):
                p.unlink()
                report.extracted -= 1
                _reject(report, member=p.relative_to(root).as_posix(), reason="link resolves outside the archive")


def _resolves_inside(p: Path, root_res: Path) -> bool:
    """Does `p` exist and resolve, every link followed, to a path inside `root_res`?"""
    try:
        return p.resolve(strict=True).is_relative_to(root_res)
    except (OSError, RuntimeError):  # missing target, a loop of links
        return False


def _skip_rest(names: list[str], report: ExtractReport) -> None:
    for n in names:
        _reject(report, member=n, reason="not extracted: size limit reached earlier")


def _member_error(report: ExtractReport, member: str, exc: OSError) -> None:
    """One member the file system refused (name too long, invalid name...): skip it, keep going."""
    _reject(report, member=member, reason=f"could not be written: {exc.strerror or exc.__class__.__name__}")


def _mkdir(w: _Writer, rel: str, member: str) -> None:
    path = w.dest / rel
    if path.is_dir():
        return
    why = w.over(0)
    if why is not None:
        w.report.limit_reached = True
        _reject(w.report, member=member, reason=why)
        return
    w.budget.files += 1
    path.mkdir(parents=True, exist_ok=True)
    if not _resolves_inside(path, w.dest.resolve()):
        _reject(w.report, member=member, reason="directory leads outside the destination")


_Member = TypeVar("_Member", zipfile.ZipInfo, tarfile.TarInfo)


def _extract_members(members: Iterable[_Member], extract: Callable[[_Member], bool], name: Callable[[_Member], str],
                     is_file: Callable[[_Member], bool], report: ExtractReport) -> None:
    """Extract members in order (zip and tar alike): a member's OS error is reported and the next one
    tried; when a cap stops the extraction, the files not reached are reported as skipped."""
    rest = iter(members)
    for member in rest:
        try:
            go_on = extract(member)
        except OSError as exc:
            _member_error(report, name(member), exc)
            continue
        if not go_on:
            _skip_rest([name(x) for x in rest if is_file(x)], report)
            return


def _extract_zip(archive: Path, w: _Writer) -> None:
    with zipfile.ZipFile(archive) as zf:
        _extract_members(zf.infolist(), lambda info: _zip_member(zf, info, w), lambda info: info.filename,
                         lambda info: not info.is_dir(), w.report)


def _zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, w: _Writer) -> bool:
    """Extract one zip member; False when a cap stops the whole extraction."""
    rel = _safe_rel(info.filename)
    if rel is None:
        _reject(w.report, member=info.filename, reason="absolute path or '..' in member name")
        return True
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        target = zf.read(info)[:4096].decode("utf-8", errors="replace")
        _link(w, rel, target, info.filename)
        return True
    if info.is_dir():
        _mkdir(w, rel, info.filename)
        return True
    with zf.open(info) as src:
        return w.write(rel, src, info.filename)


def _link(w: _Writer, rel: str, target: str, member: str) -> None:
    dest, report = w.dest, w.report
    if not _inside(dest, target, rel):
        _reject(report, member=member, reason=f"link points outside the archive ({target})")
        return
    path = dest / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        _reject(report, member=member, reason="path already exists")
        return
    why = w.over(0)
    if why is not None:
        report.limit_reached = True
        _reject(report, member=member, reason=why)
        return
    w.budget.files += 1
    os.symlink(target, path)
    # Lexical checks miss chains of links, and a dangling link can be completed later by another
    # member: the target must exist now and resolve inside.
    if not _resolves_inside(path, dest.resolve()):
        path.unlink()
        _reject(report, member=member, reason=f"link target missing (not extracted before the link) or outside the archive ({target})")
        return
    report.extracted += 1


def _extract_tar(archive: Path, w: _Writer) -> None:
    with tarfile.open(archive, "r:*") as tf:
        _extract_members(tf, lambda m: _tar_member(tf, m, w), lambda m: m.name, lambda m: m.isfile(), w.report)


def _tar_member(tf: tarfile.TarFile, m: tarfile.TarInfo, w: _Writer) -> bool:
    """Extract one tar member; False when a cap stops the whole extraction."""
    report = w.report
    rel = _safe_rel(m.name)
    if rel is None:
        _reject(report, member=m.name, reason="absolute path or '..' in member name")
        return True
    if m.isdir():
        _mkdir(w, rel, m.name)
        return True
    if m.issym():
        _link(w, rel, m.linkname, m.name)
        return True
    if m.islnk():
        return _hard_link(w, rel, m)
    if not m.isfile():
        _reject(report, member=m.name, reason="device, fifo or other special file")
        return True
    why = w.over(m.size)  # the header's size: refused before a byte is written
    if why is not None:
        report.limit_reached = True
        _reject(report, member=m.name, reason=why)
        return False
    data = tf.extractfile(m)
    if data is None:
        _reject(report, member=m.name, reason="unreadable member")
        return True
    with data:
        return w.write(rel, data, m.name)


def _hard_link(w: _Writer, rel: str, m: tarfile.TarInfo) -> bool:
    """Copy the already-extracted target of a hard link, if it is a regular file that resolves
    (every link followed) inside the destination."""
    trel = _safe_rel(m.linkname)
    src = w.dest / trel if trel is not None else None
    if src is None or not _resolves_inside(src, w.dest.resolve()) or not src.resolve().is_file():
        _reject(w.report, member=m.name, reason=f"hard link to a path outside the archive or missing ({m.linkname})")
        return True
    with open(src.resolve(), "rb") as f:
        return w.write(rel, f, m.name)


def remove_tree(path: Path) -> None:
    """Delete a previous extraction (links are removed, never followed)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
