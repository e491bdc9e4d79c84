"""Running the real ``zhengwu`` command in child processes (CLI, server, browser tests)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def zhengwu_exe() -> str:
    local = Path(sys.executable).parent / "zhengwu"
    found = str(local) if local.exists() else shutil.which("zhengwu")
    if not found:
        pytest.fail("the `zhengwu` command is not installed (pip install -e . into .venv)")
    return found


def sqlite_env(var: Path, **extra: str) -> dict[str, str]:
    """An environment whose development state (SQLite database, secret, blobs) lives in ``var``."""
    env = {**os.environ, "ZHENGWU_VAR_DIR": str(var), "ZHENGWU_DATABASE_URL": f"sqlite:///{var / 'db.sqlite3'}"}
    env.pop("ZHENGWU_ENV", None)
    env.update(extra)
    return env


def zhengwu(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [zhengwu_exe(), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


@contextmanager
def running_server(env: dict[str, str], log: Path, *extra: str, ready: tuple[int, ...] = (200,)) -> Iterator[str]:
    """``zhengwu serve`` on a free port; yields its base URL once /api/v1/health answers."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [zhengwu_exe(), "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            if http_status(f"{base}/api/v1/health") in ready:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"server not ready within 90 s:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)  # polling a process that is binding its port, not synchronising a test
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
