from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from tools.archive import archive_type, safe_extract


def add_tar(tf: tarfile.TarFile, name: str, data: bytes = b"x", **kw: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for k, v in kw.items():
        setattr(info, k, v)
    tf.addfile(info, io.BytesIO(data) if info.type in (tarfile.REGTYPE, tarfile.AREGTYPE) else None)


def all_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def test_zip_rejects_traversal_and_absolute_members(tmp_path: Path) -> None:
    arc = tmp_path / "dump.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        zf.writestr("logs/app.log", "2024-04-25T14:00:00Z INFO ok\n")
        zf.writestr("../evil.txt", "x")
        zf.writestr("/etc/evil2", "x")
        zf.writestr("a/../../evil3", "x")
        zf.writestr("C:/evil4", "x")
    dest = tmp_path / "work" / "out"
    rep = safe_extract(arc, dest)
    assert (dest / "logs" / "app.log").read_text().startswith("2024")
    assert rep.extracted == 1 and len(rep.rejected) == 4
    assert all("absolute path or '..'" in r.reason for r in rep.rejected)
    assert all_files(tmp_path) == {"dump.zip", "work", "work/out", "work/out/logs", "work/out/logs/app.log"}


def test_tar_links_inside_kept_outside_rejected(tmp_path: Path) -> None:
    arc = tmp_path / "dump.tar.gz"
    with tarfile.open(arc, "w:gz") as tf:
        add_tar(tf, "logs/app.log", b"hello")
        add_tar(tf, "logs/current", type=tarfile.SYMTYPE, linkname="app.log")
        add_tar(tf, "escape", type=tarfile.SYMTYPE, linkname="../../../etc/passwd")
        add_tar(tf, "abs", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        add_tar(tf, "hard_ok", type=tarfile.LNKTYPE, linkname="logs/app.log")
        add_tar(tf, "hard_bad", type=tarfile.LNKTYPE, linkname="/etc/shadow")
        add_tar(tf, "dev", type=tarfile.CHRTYPE)
    dest = tmp_path / "out"
    rep = safe_extract(arc, dest)
    assert archive_type(arc) == "tar"
    assert (dest / "logs" / "current").is_symlink() and (dest / "logs" / "current").read_text() == "hello"
    assert (dest / "hard_ok").read_bytes() == b"hello" and not (dest / "hard_ok").is_symlink()
    rejected = {r.member for r in rep.rejected}
    assert rejected == {"escape", "abs", "hard_bad", "dev"}
    assert not (dest / "escape").exists() and not (dest / "abs").is_symlink()


def test_chained_links_cannot_escape(tmp_path: Path) -> None:
    arc = tmp_path / "chain.tar"
    with tarfile.open(arc, "w") as tf:
        add_tar(tf, "sub/x", b"1")
        add_tar(tf, "d", type=tarfile.SYMTYPE, linkname="sub")
        add_tar(tf, "sub/up", type=tarfile.SYMTYPE, linkname="..")
        add_tar(tf, "out", type=tarfile.SYMTYPE, linkname="d/up/..")
    rep = safe_extract(arc, tmp_path / "x")
    assert "out" in {r.member for r in rep.rejected}
    assert not (tmp_path / "x" / "out").is_symlink()


def test_size_limit_stops_extraction_and_counts_the_rest(tmp_path: Path) -> None:
    arc = tmp_path / "big.zip"
    with zipfile.ZipFile(arc, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.log", "a" * 600)
        zf.writestr("b.log", "b" * 600)  # compresses tiny, expands past the limit
        zf.writestr("c.log", "c" * 10)
    dest = tmp_path / "out"
    rep = safe_extract(arc, dest, max_bytes=1000)
    assert rep.limit_reached and rep.bytes_written == 600 and rep.extracted == 1
    assert [r.member for r in rep.rejected] == ["b.log", "c.log"]
    assert all_files(dest) == {"a.log"}  # the partial b.log was removed


def test_tar_declared_size_over_limit(tmp_path: Path) -> None:
    arc = tmp_path / "big.tgz"
    with tarfile.open(arc, "w:gz") as tf:
        add_tar(tf, "huge.log", b"z" * 5000)
    rep = safe_extract(arc, tmp_path / "out", max_bytes=100)
    assert rep.limit_reached and rep.extracted == 0 and not (tmp_path / "out" / "huge.log").exists()


def test_corrupt_and_non_archives_report_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    good = io.BytesIO()
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("a.log", "x" * 1000)
    bad.write_bytes(good.getvalue()[:60])
    rep = safe_extract(bad, tmp_path / "o1")
    assert rep.error and rep.extracted == 0
    txt = tmp_path / "plain.txt"
    txt.write_text("hello")
    assert archive_type(txt) is None
    assert safe_extract(txt, tmp_path / "o2").error == "not a zip or tar archive"


def test_many_rejections_are_counted_but_the_list_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.archive as archive

    arc = tmp_path / "many.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        for i in range(30):
            zf.writestr(f"../evil{i}", "x")
    monkeypatch.setattr(archive, "MAX_LISTED", 10)
    rep = safe_extract(arc, tmp_path / "out")
    assert rep.rejected_total == 30 and len(rep.rejected) == 10
