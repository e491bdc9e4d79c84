"""Delivery guarantees with real dispatcher processes (``python -m api.notifications.dispatcher``)
against the local push service: several dispatchers on PostgreSQL never deliver one row twice, and
a dispatcher killed with SIGKILL in the middle of a batch loses none (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import AsyncClient
from tortoise.transactions import in_transaction

from api.identity.models import Citizen
from api.notifications.models import DELIVERED, Message, NotificationPreference, Outbox, PushSubscription
from api.notifications.push import generate_keys
from api.notifications.services import enqueue, set_preference, subscribe
from tests.databases import POSTGRES_URL
from tests.processes import ROOT
from tests.push_service import Device, PushService

VAPID_PRIVATE, VAPID_PUBLIC = generate_keys()


@pytest.fixture(autouse=True)
async def _clean(client: AsyncClient) -> AsyncIterator[None]:
    for model in (Outbox, Message, PushSubscription, NotificationPreference):
        await model.all().delete()
    yield
    for model in (Outbox, Message, PushSubscription, NotificationPreference):
        await model.all().delete()


@pytest.fixture
async def service() -> AsyncIterator[PushService]:
    svc = await PushService().start()
    try:
        yield svc
    finally:
        await svc.stop()


class Dispatchers:
    """Dispatcher processes on the test's database, each logging to its own file."""

    def __init__(self, database_url: str, origin: str, logs: Path) -> None:
        self.logs = logs
        self.env = {
            **os.environ, "PYTHONPATH": str(ROOT), "ZHENGWU_DATABASE_URL": database_url, "ZHENGWU_SECRET_KEY": "t" * 48,
            "ZHENGWU_VAR_DIR": str(logs), "ZHENGWU_VAPID_PRIVATE_KEY": VAPID_PRIVATE,
            "ZHENGWU_VAPID_SUBJECT": "mailto:ops@zhengwu.example.cn", "ZHENGWU_PUSH_ALLOW_ORIGINS": origin,
            "ZHENGWU_NOTIFY_POLL_INTERVAL": "0.2",
        }
        self.env.pop("ZHENGWU_ENV", None)
        self.procs: list[asyncio.subprocess.Process] = []

    def log(self, n: int) -> Path:
        return self.logs / f"dispatcher-{n}.log"

    async def start(self, batch: int) -> asyncio.subprocess.Process:
        n = len(self.procs)
        with self.log(n).open("w") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "api.notifications.dispatcher", "--batch", str(batch), cwd=ROOT, env=self.env,
                stdout=out, stderr=asyncio.subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    async def ready(self, n: int) -> None:
        """Until process n says it has started (polling its log: the process is starting up)."""
        for _ in range(600):
            if "dispatcher started" in self.log(n).read_text():
                return
            if self.procs[n].returncode is not None:
                pytest.fail(f"dispatcher {n} exited: {self.log(n).read_text()[-3000:]}")
            await asyncio.sleep(0.05)
        pytest.fail(f"dispatcher {n} did not start: {self.log(n).read_text()[-3000:]}")

    def dump(self) -> str:
        return "\n".join(f"--- dispatcher {n}:\n{self.log(n).read_text()[-3000:]}" for n in range(len(self.procs)))

    async def stop(self) -> list[int]:
        """SIGTERM each; the rows each delivered, from its last log line."""
        for p in self.procs:
            if p.returncode is None:
                p.send_signal(signal.SIGTERM)
        counts = []
        for n, p in enumerate(self.procs):
            await asyncio.wait_for(p.wait(), 30)
            text = self.log(n).read_text()
            line = [x for x in text.splitlines() if "dispatcher stopped after" in x]
            counts.append(int(line[-1].split("after ")[1].split()[0]) if line else -1)
        return counts


async def _citizen(phone: str) -> str:
    """A citizen who wants their news at any hour (the tests run at any time of day)."""
    citizen, _ = await Citizen.get_or_create(phone=phone)
    await set_preference(f"citizen:{citizen.id}", push_on=True, sms_on=False, muted=[], quiet_hours=False,
                         quiet_start="22:00", quiet_end="07:00", language="zh-CN")
    return f"citizen:{citizen.id}"


async def _device(service: PushService, owner: str, **behaviour: object) -> Device:
    device = service.device(VAPID_PUBLIC, **behaviour)
    await subscribe(owner, device.endpoint, device.keys, (service.origin,))
    return device


async def _enqueue(owner: str, n: int) -> list[int]:
    async with in_transaction() as conn:
        rows = [await enqueue(conn, "case.accept", owner, case_id=i, data={"item_name": f"事项{i}", "number": f"N{i}"})
                for i in range(n)]
    return [r.id for r in rows]


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="ZHENGWU_TEST_POSTGRES_URL is not set")
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_several_dispatchers_never_deliver_one_row_twice(
    database_url: str, service: PushService, tmp_path: Path,
) -> None:
    owner = await _citizen("13600000001")
    phones = [await _device(service, owner), await _device(service, owner)]
    dispatchers = Dispatchers(database_url, service.origin, tmp_path)
    try:
        for _ in range(3):
            await dispatchers.start(batch=10)
        for n in range(3):
            await dispatchers.ready(n)
        # One commit wakes all three at once (NOTIFY), so they contend for the same rows.
        ids = await _enqueue(owner, 300)
        await service.wait_until(lambda: len(service.received) >= 2 * len(ids), 120)
    finally:
        counts = await dispatchers.stop()
    per_phone = [Counter(r.payload["id"] for r in service.to(p)) for p in phones]
    assert all(sorted(c) == ids for c in per_phone)  # every row reached each phone
    assert all(set(c.values()) == {1} for c in per_phone)  # and none twice
    assert len(service.received) == 2 * len(ids)
    rows = await Outbox.filter(id__in=ids)
    assert {(r.outcome, r.attempts) for r in rows} == {(DELIVERED, 1)}
    assert await Message.filter(recipient=owner).count() == len(ids)
    assert sum(counts) == len(ids) and sum(1 for c in counts if c > 0) >= 2, counts  # they shared the work


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=[
    pytest.mark.postgres, pytest.mark.skipif(not POSTGRES_URL, reason="ZHENGWU_TEST_POSTGRES_URL is not set")])],
    indirect=True)
async def test_a_dispatcher_killed_mid_batch_loses_nothing(
    database_url: str, service: PushService, tmp_path: Path,
) -> None:
    owner = await _citizen("13600000002")
    hold = asyncio.Event()
    phone = await _device(service, owner, hold=hold)  # the push service takes messages but does not answer
    ids = await _enqueue(owner, 30)
    dispatchers = Dispatchers(database_url, service.origin, tmp_path)
    first = await dispatchers.start(batch=10)
    try:
        try:
            await service.wait_until(lambda: len(service.received) >= 10, 60)  # a whole batch is in flight
        except TimeoutError:
            pytest.fail(f"the batch did not arrive:\n{dispatchers.dump()}")
        first.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(first.wait(), 30) == -signal.SIGKILL
        in_flight = {r.payload["id"] for r in service.received}
        assert in_flight <= set(ids[:10])
        assert not await Outbox.filter(id__in=ids, done_at__isnull=False).exists()  # nothing was recorded
        assert not await Message.filter(recipient=owner).exists()

        phone.hold = None  # the push service answers again
        hold.set()
        await dispatchers.start(batch=10)
        await service.wait_until(lambda: {r.payload["id"] for r in service.received} >= set(ids), 60)
    finally:
        await dispatchers.stop()
    got = Counter(r.payload["id"] for r in service.received)
    assert sorted(got) == ids  # none lost
    assert {i for i, n in got.items() if n > 1} <= in_flight  # at least once: only the killed batch again
    assert {r.outcome for r in await Outbox.filter(id__in=ids)} == {DELIVERED}
    assert await Message.filter(recipient=owner).count() == len(ids)  # the message centre has each once
