"""A real Chroma server (`chroma run`, shipped in the chromadb wheel) on a free loopback port, for tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def loopback_process(cmd: list[str], ready_url: str, log_path: Path, name: str) -> Iterator[None]:
    """Run `cmd` (a server bound to loopback) until `ready_url` answers; stop it afterwards."""
    log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(ready_url, timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start: see {log.name}") from None
                time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with loopback_process([exe, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                          f"{url}/api/v2/heartbeat", path.parent / f"chroma-{port}.log", "chroma run"):
        yield url
