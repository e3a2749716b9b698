"""A real ``flexjudge serve`` subprocess on a free loopback port, for the server and adapter
tests (one per test module: starting one costs a few seconds)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """``flexjudge serve ARGS --port P`` with its stdout and stderr in ``log``."""

    def __init__(
        self,
        args: Sequence[str],
        log: Path,
        *,
        env: dict[str, str] | None = None,
        key: str | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        argv = [
            sys.executable,
            "-m",
            "flexjudge.cli.main",
            "serve",
            "--port",
            str(self.port),
            *args,
        ]
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            argv,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", **(env or {})},
        )

    def wait_ready(self, timeout: float = 180.0) -> ServeProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"flexjudge serve exited ({self.proc.returncode}):\n{self.output()}"
                )
            try:
                if (
                    httpx.get(f"{self.url}/ready", headers=self.headers, timeout=2).status_code
                    == 200
                ):
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"flexjudge serve was not ready in {timeout} s:\n{self.output()}")

    def output(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors="replace")

    def terminate(self) -> None:
        """SIGTERM, as a process manager stops it."""
        self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self._out.close()
        return int(self.proc.returncode)

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample on ``/metrics`` (0.0 when absent)."""
        from prometheus_client.parser import text_string_to_metric_families

        text = httpx.get(f"{self.url}/metrics", headers=self.headers, timeout=10).text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return 0.0
