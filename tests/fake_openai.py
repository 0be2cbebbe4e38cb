"""A small OpenAI-compatible HTTP server for tests, bound to 127.0.0.1 on an ephemeral port.

The openai SDK uses httpx2, which httpx mocking libraries do not intercept, so tests talk to this
server over real HTTP. Responses are scripted as a queue of steps:

    fake.enqueue(completion("hi", usage=(10, 2)), status(429, retry_after=1), malformed())

Every request is recorded (path, headers, JSON body). A request that finds the queue empty gets a
500 whose message says so, which makes a missing step visible in the failing test.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

JsonDict = dict[str, Any]


@dataclass
class Reply:
    """One scripted HTTP answer."""

    status: int = 200
    body: JsonDict | None = None
    raw: bytes | None = None  # sent verbatim instead of `body` (malformed bodies)
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # sleep before answering (longer than the client timeout -> timeout)
    stream_chunks: list[str] | None = None  # explicit content deltas when the request streams


Step = Reply | Callable[[JsonDict], Reply | JsonDict]


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when the body was not JSON


def completion(
    content: str | None = None,
    *,
    tool_calls: list[tuple[str, str, JsonDict | str]] | None = None,
    usage: tuple[int, int] | None = (10, 5),
    model: str = "fake-model",
    finish_reason: str | None = None,
    refusal: str | None = None,
    stream_chunks: list[str] | None = None,
) -> Reply:
    """A chat.completion body. tool_calls are (id, function name, arguments dict or raw string)."""
    message: JsonDict = {"role": "assistant", "content": content, "refusal": refusal}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for call_id, name, args in tool_calls
        ]
    body: JsonDict = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish_reason or ("tool_calls" if tool_calls else "stop"),
                "logprobs": None,
            }
        ],
    }
    if usage is not None:
        body["usage"] = {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": usage[0] + usage[1],
        }
    return Reply(body=body, stream_chunks=stream_chunks)


def status(
    code: int, message: str = "", *, retry_after: float | None = None, err_type: str = ""
) -> Reply:
    """An error status with an OpenAI-style error body."""
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    body = {
        "error": {
            "message": message or f"fake error {code}",
            "type": err_type or "fake_error",
            "param": None,
            "code": None,
        }
    }
    return Reply(status=code, body=body, headers=headers)


def delay(seconds: float, then: Reply | None = None) -> Reply:
    """Answer only after `seconds` (with `then`, or an empty completion)."""
    reply = then if then is not None else completion("late")
    reply.delay_s = seconds
    return reply


def malformed(text: str = '{"id": "chatcmpl-fake", "choices": [') -> Reply:
    """A 200 whose body is not valid JSON."""
    return Reply(raw=text.encode(), headers={"Content-Type": "application/json"})


class FakeOpenAI:
    """The server. Use as a context manager or call start()/stop()."""

    def __init__(self) -> None:
        self._steps: deque[Step] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Self:
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a delay step
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "server not started"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting -------------------------------------------------------------------------------
    def enqueue(self, *steps: Step) -> None:
        with self._lock:
            self._steps.extend(steps)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._steps)

    def bodies(self) -> list[Any]:
        """JSON bodies of the chat requests, in order."""
        return [r.body for r in self.requests if r.path.split("?")[0].endswith("/chat/completions")]

    def _next(self, request_json: JsonDict) -> Reply:
        with self._lock:
            step = self._steps.popleft() if self._steps else None
        if step is None:
            return status(500, "fake_openai: no scripted response left")
        if isinstance(step, Reply):
            return step
        produced = step(request_json)
        return produced if isinstance(produced, Reply) else Reply(body=produced)

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(req)


def _sse_events(body: JsonDict, chunks: list[str] | None, include_usage: bool) -> Iterator[bytes]:
    """Turn a chat.completion body into chat.completion.chunk SSE events."""
    choice = body["choices"][0]
    message = choice["message"]
    base = {k: body[k] for k in ("id", "created", "model")}
    base["object"] = "chat.completion.chunk"

    def event(delta: JsonDict, finish: str | None = None) -> bytes:
        payload = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(payload)}\n\n".encode()

    yield event({"role": "assistant", "content": ""})
    content = message.get("content") or ""
    pieces = chunks if chunks is not None else [w for w in content.split(" ")]
    for i, piece in enumerate(pieces):
        # Re-insert the separators the default split removed.
        text = piece if chunks is not None or i == len(pieces) - 1 else piece + " "
        if text:
            yield event({"content": text})
    for index, call in enumerate(message.get("tool_calls") or []):
        yield event({"tool_calls": [{"index": index, **call}]})
    yield event({}, choice.get("finish_reason") or "stop")
    if include_usage and "usage" in body:
        yield f"data: {json.dumps({**base, 'choices': [], 'usage': body['usage']})}\n\n".encode()
    yield b"data: [DONE]\n\n"


def _make_handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return  # keep test output clean

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                parsed: Any = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode("utf-8", "replace")
            fake._record(
                RecordedRequest(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=parsed,
                )
            )
            reply = fake._next(parsed if isinstance(parsed, dict) else {})
            if reply.delay_s:
                # Wait on the stop event so shutting the server down never hangs on a sleeper.
                fake._stopping.wait(reply.delay_s)
            streaming = isinstance(parsed, dict) and parsed.get("stream") is True
            try:
                if streaming and reply.status == 200 and reply.body is not None:
                    include_usage = bool((parsed.get("stream_options") or {}).get("include_usage"))
                    self._send_stream(reply, include_usage)
                else:
                    self._send(reply)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        def _send(self, reply: Reply) -> None:
            data = reply.raw if reply.raw is not None else json.dumps(reply.body or {}).encode()
            self.send_response(reply.status)
            headers = {"Content-Type": "application/json", **reply.headers}
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _send_stream(self, reply: Reply, include_usage: bool) -> None:
            assert reply.body is not None
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for chunk in _sse_events(reply.body, reply.stream_chunks, include_usage):
                self.wfile.write(chunk)
                self.wfile.flush()
                time.sleep(0)  # let the client read incrementally

    return Handler
