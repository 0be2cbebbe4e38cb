"""Receive a multipart upload straight to disk, enforcing the size cap while the bytes arrive.

Why not FastAPI's `UploadFile`: Starlette parses the whole body (spooling it to a temporary file)
before the route runs, so a 50 GB upload would be accepted onto the disk before any cap applied.
Here the request stream goes through python-multipart's streaming parser: the file part is written
chunk by chunk to its destination and the upload stops at the first byte over the cap. Text fields
are small by nature and capped too; only one file part is accepted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from pydantic import BaseModel
from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header

FIELD_MAX_BYTES = 64 * 1024  # a text field (members, date, flags)
MAX_FIELDS = 32


class UploadProblem(Exception):
    """The upload cannot be accepted; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, error: str, hint: str) -> None:
        super().__init__(error)
        self.status, self.error, self.hint = status, error, hint


class ReceivedUpload(BaseModel):
    fields: dict[str, str]
    filename: str  # as the client named it (display only; never used as a path)
    path: Path
    size: int


def too_large(cap: int) -> UploadProblem:
    return UploadProblem(413, f"upload larger than the limit of {cap} bytes",
                         "split the dump, drop bulky files it does not need (core dumps, model weights), "
                         "or ask an admin to register it as a server-side path")


class _Receiver:
    """python-multipart callbacks: collects fields, streams the file part to `dest`."""

    def __init__(self, dest: Path, cap: int, file_field: str) -> None:
        self.dest, self.cap, self.file_field = dest, cap, file_field
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.size = 0
        self._header_field = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._is_file = False
        self._value = bytearray()
        self._out: IO[bytes] | None = None

    def callbacks(self) -> dict[str, object]:
        return {"on_part_begin": self.part_begin, "on_header_field": self.header_field,
                "on_header_value": self.header_value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished, "on_part_data": self.part_data,
                "on_part_end": self.part_end}

    def part_begin(self) -> None:
        self._disposition, self._name, self._is_file, self._value = b"", "", False, bytearray()

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def header_end(self) -> None:
        if self._header_field.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_field, self._header_value = b"", b""

    def headers_finished(self) -> None:
        _, opts = parse_options_header(self._disposition)
        self._name = opts.get(b"name", b"").decode("utf-8", "replace")
        self._is_file = b"filename" in opts
        if self._is_file:
            if self._name != self.file_field or self.filename is not None:
                raise UploadProblem(400, f"unexpected file field {self._name!r}",
                                    f"send exactly one file, in the form field {self.file_field!r}")
            self.filename = opts[b"filename"].decode("utf-8", "replace")
            self._out = open(self.dest, "wb")  # noqa: SIM115 - closed in part_end / close()
        elif len(self.fields) >= MAX_FIELDS:
            raise UploadProblem(400, "too many form fields", "send the file and the documented fields only")

    def part_data(self, data: bytes, start: int, end: int) -> None:
        n = end - start
        if self._is_file:
            assert self._out is not None
            if self.size + n > self.cap:
                raise too_large(self.cap)
            self._out.write(data[start:end])
            self.size += n
            return
        if len(self._value) + n > FIELD_MAX_BYTES:
            raise UploadProblem(400, f"form field {self._name!r} is too long",
                                f"form fields hold at most {FIELD_MAX_BYTES} bytes")
        self._value += data[start:end]

    def part_end(self) -> None:
        if self._is_file:
            self.close()
        else:
            self.fields[self._name] = self._value.decode("utf-8", "replace")

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


async def receive_upload(content_type: str, content_length: str | None, body: AsyncIterator[bytes],
                         dest: Path, cap: int, file_field: str = "file") -> ReceivedUpload:
    """Parse a multipart/form-data body into `dest` (the file) and the text fields.

    Raises UploadProblem (413 over the cap, 400 malformed, 415 not multipart); `dest` is removed
    whenever the upload is not accepted."""
    ctype, opts = parse_options_header(content_type)
    if ctype != b"multipart/form-data" or not opts.get(b"boundary"):
        raise UploadProblem(415, "expected a multipart/form-data upload",
                            f"send the archive as the form field {file_field!r} (curl -F {file_field}=@dump.tar.gz)")
    # The declared length settles an oversized upload before a byte is read; the stream count
    # below is what actually holds (a client may lie or send chunked).
    if content_length and content_length.isdigit() and int(content_length) > cap + MAX_FIELDS * FIELD_MAX_BYTES:
        raise too_large(cap)
    dest.parent.mkdir(parents=True, exist_ok=True)
    receiver = _Receiver(dest, cap, file_field)
    parser = MultipartParser(opts[b"boundary"], receiver.callbacks())  # type: ignore[arg-type]
    try:
        async for chunk in body:
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        _discard(receiver, dest)
        raise UploadProblem(400, "malformed multipart body", "send a standard multipart/form-data upload") from exc
    except BaseException:
        _discard(receiver, dest)
        raise
    receiver.close()
    if receiver.filename is None:
        _discard(receiver, dest)
        raise UploadProblem(400, f"no file in the form field {file_field!r}",
                            f"attach the archive: curl -F {file_field}=@dump.tar.gz")
    return ReceivedUpload(fields=receiver.fields, filename=receiver.filename, path=dest, size=receiver.size)


def _discard(receiver: _Receiver, dest: Path) -> None:
    receiver.close()
    dest.unlink(missing_ok=True)
