"""The example compose.yaml: its commands are the ``zhengwu`` commands, its settings pass
``check-deploy`` as they stand, and the S3 identity file its comments tell how to write is one a
real SeaweedFS gateway reads (the right key works, a wrong one is refused as unavailable)."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
import yaml

from api.cli import main
from api.core.deploy import deployment_problems
from storage import StorageUnavailable
from tests.processes import ROOT
from tests.seaweed import seaweed_s3, wait_writable
from tests.test_storage import chunked, read_all

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
APP_SERVICES = ("migrate", "api", "worker")
# `zhengwu worker` (api/worker.py's loop as a command of its own) is being written alongside.
COMMANDS = {*main.commands, "worker"}


def test_every_service_runs_a_zhengwu_command() -> None:
    for name in APP_SERVICES:
        command = COMPOSE["services"][name]["command"]
        assert command[0] == "zhengwu" and command[1] in COMMANDS, (name, command)
    assert COMPOSE["services"]["api"]["command"][1:] == ["serve", "--host", "0.0.0.0", "--port", "8000",
                                                         "--workers", "2"]


def test_the_compose_settings_pass_check_deploy(tmp_path: Path) -> None:
    env: dict[str, str] = {}
    for name, value in COMPOSE["x-zhengwu"]["environment"].items():
        if str(value).startswith("/run/secrets/"):  # the secrets, as the comments make them
            secret = tmp_path / str(value).rsplit("/", 1)[1]
            secret.write_text({"database_url": "postgres://zhengwu:pw@postgres:5432/zhengwu",
                               "secret_key": "k" * 64}.get(secret.name, uuid.uuid4().hex))
            value = str(secret)
        env[name] = str(value)
    assert deployment_problems({**env, "ZHENGWU_VAR_DIR": "/app/var"}, workers=2) == []
    for name in env:  # every variable is one the code reads
        assert name.startswith(("ZHENGWU_", "AWS_")), name


async def test_the_seaweedfs_identity_file_from_the_compose_comments_works(tmp_path: Path) -> None:
    template = re.search(r"printf '(\{.*\})'", (ROOT / "compose.yaml").read_text())
    assert template is not None
    access, secret = uuid.uuid4().hex[:16], uuid.uuid4().hex
    config = tmp_path / "s3.json"
    config.write_text(template.group(1) % (access, secret))  # what printf makes of it (only %s in it)
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "probe").write_bytes(b"probe")
    with seaweed_s3(tmp_path / "data", tmp_path / "weed.log", f"-s3.config={config}") as gateway:
        from storage import open_store

        right = open_store(gateway.url("compose"), work_dir=tmp_path / "work",
                           credentials={"access_key": access, "secret_key": secret})
        wrong = open_store(gateway.url("compose"), work_dir=tmp_path / "work",
                           credentials={"access_key": access, "secret_key": "not-the-secret"})
        try:
            await wait_writable(gateway, tmp_path / "work", store=right)
            blob = await right.write(chunked(b"a scan"))
            assert await read_all(right, blob.key) == b"a scan"
            with pytest.raises(StorageUnavailable, match=r"403|AccessDenied|SignatureDoesNotMatch"):
                await wrong.write(chunked(b"refused"))
        finally:
            await right.close()
            await wrong.close()


def test_the_health_checks_ask_the_health_routes() -> None:
    """The API's check is readiness, the image's liveness, the worker's `zhengwu worker --check`;
    each route is one the app serves publicly (tests/test_health.py)."""
    from api.core.health import live, ready

    api = " ".join(COMPOSE["services"]["api"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/api/v1/health/ready" in api and ready.paths == {"/api/v1/health/ready"}
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "http://127.0.0.1:8000/api/v1/health/live" in dockerfile and live.paths == {"/api/v1/health/live"}
    assert COMPOSE["services"]["worker"]["healthcheck"]["test"] == ["CMD", "zhengwu", "worker", "--check"]
    grace = int(str(COMPOSE["x-zhengwu"]["stop_grace_period"]).removesuffix("s"))
    assert grace > float(COMPOSE["x-zhengwu"]["environment"]["ZHENGWU_SHUTDOWN_TIMEOUT"])
