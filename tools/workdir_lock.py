"""One writer per evidence store, and worker processes that die with their parent.

Two `postmortem ingest` runs on the same `--workdir` used to delete each other's extraction and
store half-way (1,737 of 451,935 rows left, one run reporting success). `WorkdirLock` is an
advisory lock (flock on Unix, msvcrt on Windows) on a file beside the store: a second run waits a
little, then stops with a message that says what to do. The lock is the kernel's, so a run that
is killed releases it at once: no stale lock file to clean up by hand.

`die_with_parent` is the worker-process initializer: after `kill -9` of the parent, workers (and,
once they are gone, multiprocessing's resource tracker, whose pipe they hold) exit within about a
second instead of running on as orphans.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO

LOCK_NAME = ".postmortem.lock"
DEFAULT_WAIT_S = 10.0
_POLL_S = 0.1
# Folders this process already holds, with how many holders: a draft locks its run folder and its
# ingest step locks the same folder again to build the store. A second flock from the same process
# would wait on itself, so re-entry only counts (threads of one process are not kept apart).
_HELD: dict[str, int] = {}
_HELD_GUARD = threading.Lock()


class WorkdirBusy(RuntimeError):
    """Another run holds the lock of this workdir."""


def _try_lock(f: IO[bytes]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


class WorkdirLock:
    """Exclusive lock on `folder` for one ingest or draft; use as a context manager."""

    def __init__(self, folder: Path, wait_s: float | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.wait_s = DEFAULT_WAIT_S if wait_s is None else wait_s  # Settings.lock_wait_s from the CLI
        self._f: IO[bytes] | None = None
        self._reentered = False

    def acquire(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        key = str(self.folder.resolve())
        with _HELD_GUARD:
            if _HELD.get(key, 0) > 0:
                _HELD[key] += 1
                self._reentered = True
                return
        self._acquire_file()
        with _HELD_GUARD:
            _HELD[key] = _HELD.get(key, 0) + 1

    def _acquire_file(self) -> None:
        f = open(self.path, "a+b")  # noqa: SIM115 - held open for the lock's lifetime
        deadline = time.monotonic() + self.wait_s
        while not _try_lock(f):
            if time.monotonic() >= deadline:
                f.close()
                raise WorkdirBusy(
                    f"another postmortem run is using {self.folder} (waited {self.wait_s:.0f} s). "
                    f"Wait for it to finish, or pass a different --workdir.")
            time.sleep(_POLL_S)
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n".encode())  # for people looking; the kernel lock is what counts
        f.flush()
        self._f = f

    def release(self) -> None:
        if self._reentered or self._f is not None:
            key = str(self.folder.resolve())
            with _HELD_GUARD:
                _HELD[key] = _HELD.get(key, 1) - 1
                if _HELD[key] <= 0:
                    del _HELD[key]
        if self._reentered:
            self._reentered = False
            return
        if self._f is not None:
            self._f.close()  # closing the descriptor releases the kernel lock
            self._f = None

    def __enter__(self) -> WorkdirLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


# ---- worker lifetime ---------------------------------------------------------------------------
_PR_SET_PDEATHSIG = 1
_WATCH_S = 0.5


def _pdeathsig() -> None:
    """Linux: have the kernel send SIGKILL to this process when its parent dies."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl here: the watcher thread still covers it
        pass


def _watch_parent(parent: int) -> None:
    # PDEATHSIG fires when the parent *thread* that started us ends, and exists only on Linux;
    # polling the parent id covers every platform (an orphan is re-parented, so the id changes).
    while os.getppid() == parent:
        time.sleep(_WATCH_S)
    os._exit(1)


def die_with_parent() -> None:
    """Worker initializer: exit when the parent process dies; then freeze the imported objects
    out of the collector's view, so full collections over millions of records stay cheap."""
    parent = os.getppid()
    _pdeathsig()
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watch").start()
    gc.freeze()
