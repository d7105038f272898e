"""A private, append-only redis-server for fault tests: started on a free loopback port,
SIGKILLed and restarted at will, always stopped by its pid.

Tests that use it run only where a real server is expected (``REDIS_URL`` set) and the
``redis-server`` binary is installed; otherwise they are skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis


def require_redis_server() -> str:
    """The redis-server binary, or skip the test with the reason."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("fault test against a real server: set REDIS_URL (CI does) to run it")
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("fault test needs the redis-server binary on PATH")
    return binary


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisProcess:
    """One redis-server with ``appendonly yes`` and ``appendfsync always`` in ``folder``:
    every write it acknowledges is on disk, so a SIGKILL and a restart lose nothing.

    ``persistence`` overrides those settings (e.g. ``("--appendonly", "no")``) for tests of
    what a server set up otherwise loses."""

    def __init__(
        self, folder: Path, binary: str | None = None, *, persistence: tuple[str, ...] | None = None
    ) -> None:
        self.folder, self.binary = Path(folder), binary or require_redis_server()
        self.persistence = persistence or ("--appendonly", "yes", "--appendfsync", "always")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0) -> RedisProcess:
        """Start (or restart) the server on the same port and data folder; wait until it answers."""
        command = [
            self.binary,
            *("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)),
            *self.persistence,
            "--save",
            "",
            *("--logfile", str(self.folder / "redis.log")),
        ]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    if client.ping():
                        return self
                except redis.RedisError:
                    pass
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.folder / "redis.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"redis-server on port {self.port} did not come up:\n{log}")
                time.sleep(0.05)
        finally:
            client.close()

    def kill(self) -> None:
        """SIGKILL the server (no shutdown, no final save) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        self.start()

    def __enter__(self) -> RedisProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.kill()
