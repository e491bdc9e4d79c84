"""The ``zhengwu`` command: serve, worker, migrate, seed, import-catalog, export-catalog, create-staff,
maintenance, voucher-sample, audit-verify, check-deploy, backup, restore, vapid-keys, dispatch."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.core.settings import ConfigurationError, Settings

if TYPE_CHECKING:
    import uvicorn

console = Console(stderr=True)


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    with Progress(
        TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


class _Commands(click.Group):
    """A database or blob store that cannot be reached ends any command with one line, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            from api.core.db import is_database_unavailable
            from storage import StorageUnavailable

            if isinstance(exc, StorageUnavailable):
                raise click.ClickException(f"blob storage unavailable: {exc}") from None
            if is_database_unavailable(exc):
                raise click.ClickException(f"database unavailable: {type(exc).__name__}: {str(exc)[:200]}") from None
            raise


@click.group(cls=_Commands)
def main() -> None:
    """智慧政务 zhengwu — run and administer the platform."""
    from api.core.logs import install_redaction

    install_redaction()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API and the PWA."""
    import uvicorn

    from api.core.logs import logging_config

    settings = _settings()
    if settings.is_sqlite and workers > 1:
        # SQLite has one writer and Tortoise one connection per process: several workers lock.
        raise click.ClickException("SQLite supports one worker only; use PostgreSQL for --workers > 1")
    from api.core.deploy import startup_problem

    problem = asyncio.run(startup_problem(settings))
    if problem:  # one line and exit 1, rather than a server that answers 503 to everything
        raise click.ClickException(problem)
    _metrics_multiprocess(settings)
    if not settings.pwa_dist.joinpath("index.html").exists():
        console.print(f"[yellow]PWA not built ({settings.pwa_dist}); serving the API only[/]")
    config = uvicorn.Config(
        "api.app:app_factory", factory=True, host=host, port=port, workers=workers,
        proxy_headers=True, forwarded_allow_ips="127.0.0.1", log_level=settings.log_level,
        # The app writes its own access line (with request id, route and duration): uvicorn's is off.
        log_config=logging_config(settings.log_level, settings.log_format), access_log=False,
        # SIGTERM: stop accepting, let in-flight requests (a tus chunk) finish for this long, then
        # cancel them; then the lifespan's shutdown stops the worker's loops.
        timeout_graceful_shutdown=settings.shutdown_timeout,
    )
    _serve(config, workers, settings.shutdown_timeout)


def _serve(config: uvicorn.Config, workers: int, timeout: float) -> None:
    """uvicorn's own run, with a graceful SIGTERM that exits 0: one process serves by itself; with
    several, the parent stops accepting at once (closing its copy of the listening socket), each
    child drains its requests, and children still running past the timeout (and a margin for the
    lifespan's shutdown) are killed."""
    import signal

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if workers == 1:
        server = uvicorn.Server(config)
        # uvicorn raises the signal it stopped for again once it has shut down; with the default
        # handler that would end the process as "killed by SIGTERM" (143) after a clean stop.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: None)
        server.run()
        if not server.started:
            sys.exit(3)  # uvicorn's STARTUP_FAILURE: the app or the socket failed
        return

    class Supervisor(Multiprocess):
        def _stop_accepting(self) -> None:
            for sock in self.sockets:
                sock.close()  # the children hold their own copies until they have drained

        def handle_term(self) -> None:
            self._stop_accepting()
            super().handle_term()

        def handle_int(self) -> None:
            self._stop_accepting()
            super().handle_int()

        def join_all(self) -> None:
            deadline = time.monotonic() + timeout + LIFESPAN_SHUTDOWN_MARGIN
            for process in self.processes:
                process.process.join(max(0.0, deadline - time.monotonic()))
                if process.process.is_alive():
                    console.print(f"[red]worker process {process.pid} still running after {timeout:.0f} s; killed[/]")
                    process.kill()
                    process.join()

    Supervisor(config, sockets=[config.bind_socket()]).run()


#: Seconds a server process may take after its requests' timeout: the worker's loops finishing
#: their round (api/worker.py waits 10 s), connections and the store closing.
LIFESPAN_SHUTDOWN_MARGIN = 15.0


def _metrics_multiprocess(settings: Settings) -> None:
    """Workers write their samples into a fresh directory that either exposition sums (api/core/
    metrics.py); the separate metrics port, if any, is served from this process."""
    import atexit
    import os
    import shutil
    import tempfile

    settings.work_root.mkdir(parents=True, exist_ok=True)
    directory = tempfile.mkdtemp(prefix="metrics-", dir=settings.work_root)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory  # before prometheus-client is imported anywhere
    atexit.register(shutil.rmtree, directory, True)
    if settings.metrics_port:
        from api.core.metrics import serve_metrics_port

        serve_metrics_port(settings.metrics_host, settings.metrics_port)
        console.print(f"metrics on http://{settings.metrics_host}:{settings.metrics_port}/metrics")


@main.command()
def migrate() -> None:
    """Apply the schema migrations (alembic upgrade head)."""
    from api.core.blobs import blob_store
    from api.core.db import migrate as run

    settings = _settings()
    run(settings.database_url)
    console.print("[green]database is at the latest schema[/]")

    async def prepare() -> None:  # the storage directory, or the bucket, when missing
        store = blob_store(settings)
        try:
            await store.prepare()
        finally:
            await store.close()

    asyncio.run(prepare())


async def _import(settings: Settings, doc: object, label: str) -> None:
    from api.catalog.document import CatalogDocument
    from api.catalog.services import CatalogInvalid, import_document
    from api.core.db import orm_session

    assert isinstance(doc, CatalogDocument)
    async with orm_session(settings.database_url):
        try:
            with _progress(label) as progress:
                result = await import_document(doc, progress)
        except CatalogInvalid as exc:
            for p in exc.problems[:500]:
                console.print(f"[red]{p.where}[/] {p.field}: {p.message}")
            message = f"目录有 {len(exc.problems)} 处错误，未导入任何内容 (nothing imported)"
            raise click.ClickException(message) from None
    console.print(
        f"[green]imported[/]: {result.items_created} new items, {result.versions_published} versions published, "
        f"{result.items_unchanged} unchanged (catalog version {result.catalog_version})"
    )


@main.command()
@click.option("--demo", "demo", is_flag=True,
              help="Load the demo city catalog (and, in development, an account for every role).")
@click.option("--synthetic", type=click.IntRange(1, 100_000), help="Load a synthetic catalog of N items.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the catalog already has items.")
def seed(demo: bool, synthetic: int | None, if_empty: bool) -> None:
    """Load the demo catalog (or a synthetic one for benchmarks)."""
    from api.catalog.services import catalog_is_empty
    from api.core.db import orm_session

    if demo == (synthetic is not None):
        raise click.UsageError("choose exactly one of --demo or --synthetic N")
    settings = _settings()
    load = True
    if if_empty:

        async def empty() -> bool:
            async with orm_session(settings.database_url):
                return await catalog_is_empty()

        if not asyncio.run(empty()):
            console.print("catalog already loaded; nothing to do")
            load = False
    if load and demo:
        from api.catalog.demo import demo_document

        asyncio.run(_import(settings, demo_document(), "importing"))
    elif load:
        from api.catalog.synthetic import synthetic_document

        asyncio.run(_import(settings, synthetic_document(synthetic or 0), "importing"))
    if demo:
        from api.certificates.demo import seed_demo

        asyncio.run(seed_demo(settings, console.print))  # demo citizens and the certificates fetched for them
        _demo_staff(settings)


def _demo_staff(settings: Settings) -> None:
    """The demo accounts (README: try every role), missing ones only; never in production."""
    if settings.production:
        console.print("ZHENGWU_ENV=production: no demo accounts created (生产环境不创建演示账号)")
        return
    from api.catalog.models import Department, Window
    from api.core.db import orm_session
    from api.core.errors import DomainError
    from api.identity.services import DemoStaffResult, create_demo_staff, demo_accounts

    async def run() -> DemoStaffResult:
        async with orm_session(settings.database_url):
            windows = await Window.all().order_by("code").values_list("code", flat=True)
            departments = await Department.filter(level="city").order_by("code").values_list("code", flat=True)
            try:
                return await create_demo_staff(demo_accounts(list(windows), list(departments)),
                                               settings.demo_password)
            except DomainError as exc:  # a ZHENGWU_DEMO_PASSWORD too weak for create_staff
                raise click.ClickException(f"演示账号未创建：{exc.message} ({exc.detail})") from None

    result = asyncio.run(run())
    console.print(f"[green]demo staff[/]: {len(result.created)} created, "
                  f"{len(result.existing)} already there (left unchanged)")


def _read(path: Path) -> object:
    from api.catalog.document import CatalogDocument

    if path.suffix.lower() == ".json":
        try:
            return msgspec.json.decode(path.read_bytes(), type=CatalogDocument)
        except msgspec.ValidationError as exc:
            raise click.ClickException(f"JSON 格式不符合目录结构：{exc}") from None
    if path.suffix.lower() != ".xlsx":
        raise click.ClickException("只支持 .xlsx 或 .json 文件 (only .xlsx or .json)")
    from api.catalog.excel import CatalogImportError, format_report, read_workbook

    try:
        with _progress("reading") as progress:
            return read_workbook(path, progress)
    except CatalogImportError as exc:
        console.print(format_report(exc.problems))
        raise click.ClickException(f"工作簿有 {len(exc.problems)} 处错误，未导入任何内容 (nothing imported)") from None


@main.command("import-catalog")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_catalog(file: Path) -> None:
    """Import a catalog from Excel (.xlsx) or JSON; all or nothing."""
    settings = _settings()
    doc = _read(file)
    asyncio.run(_import(settings, doc, "importing"))


@main.command("create-staff")
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Prompted for when not given (keeps it out of the shell history).")
@click.option("--role", required=True, type=click.Choice(["clerk", "officer", "approver", "supervisor", "admin"]))
@click.option("--department", default="", help="Department code (officers and approvers).")
@click.option("--window", default="", help="Window code (clerks).")
@click.option("--name", default="", help="The person's name.")
def create_staff(username: str, password: str, role: str, department: str, window: str, name: str) -> None:
    """Create a staff account (the first administrator, for instance)."""
    from api.core.db import orm_session
    from api.core.errors import DomainError
    from api.identity.services import create_staff as create

    settings = _settings()

    async def run() -> None:
        async with orm_session(settings.database_url):
            try:  # role, department and window are checked as the admin API checks them
                await create(username, password, role, department, window, name)
            except DomainError as exc:
                raise click.ClickException(f"{exc.message} ({exc.detail})") from None

    asyncio.run(run())
    console.print(f"[green]created[/] {role} {username}")


@main.command("export-catalog")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def export_catalog(file: Path) -> None:
    """Export the published catalog to Excel (.xlsx) or JSON."""
    from api.catalog.services import export_document
    from api.core.db import orm_session

    settings = _settings()

    async def run() -> object:
        async with orm_session(settings.database_url):
            return await export_document()

    doc = asyncio.run(run())
    if file.suffix.lower() == ".json":
        file.write_bytes(msgspec.json.format(msgspec.json.encode(doc)))
    elif file.suffix.lower() == ".xlsx":
        from api.catalog.excel import export_workbook

        with _progress("writing") as progress:
            export_workbook(doc, file, progress)  # type: ignore[arg-type]
    else:
        raise click.ClickException("只支持 .xlsx 或 .json 文件 (only .xlsx or .json)")
    console.print(f"[green]exported[/] {len(doc.items)} items to {file}")  # type: ignore[attr-defined]


@main.command()
@click.option("--every", type=click.IntRange(10, 86400), default=None,
              help="Keep running, one round every N seconds (default: one round, then exit).")
def maintenance(every: int | None) -> None:
    """Expire untouched drafts and abandoned uploads; sweep orphaned blobs (see api/worker.py)."""
    from api.core.blobs import blob_store
    from api.core.db import orm_session
    from api.worker import run_once_locked

    settings = _settings()
    blobs = blob_store(settings)

    async def run() -> None:
        async with orm_session(settings.database_url):
            while True:
                report = await run_once_locked(settings, blobs)
                if report is None:
                    console.print("[yellow]another process is running maintenance; skipped[/]")
                else:
                    console.print(f"[green]maintenance[/]: {report}")
                if every is None:
                    return
                await asyncio.sleep(every)

    asyncio.run(run())


@main.command()
@click.option("--check", is_flag=True,
              help="Say when a worker last ticked: exit 0 when one did recently, 1 otherwise (for monitoring).")
def worker(check: bool) -> None:
    """Run the background worker: supervision ticks, maintenance, statistics (see api/worker.py)."""
    import logging.config
    import signal

    from api.core.blobs import blob_store
    from api.core.db import orm_session
    from api.core.jobs import sqlite_worker_lock
    from api.core.logs import logging_config
    from api.worker import SECOND_SQLITE_WORKER, Worker
    from api.worker import check as check_worker

    settings = _settings()
    if check:

        async def look() -> tuple[bool, str]:
            async with orm_session(settings.database_url):
                return await check_worker(settings)

        ok, line = asyncio.run(look())
        console.print(("[green]worker ok[/]: " if ok else "[red]worker not ticking[/]: ") + line)
        sys.exit(0 if ok else 1)
    with sqlite_worker_lock(settings.database_url) as mine:
        if not mine:  # before anything else: SQLite has one worker per database
            raise click.ClickException(SECOND_SQLITE_WORKER)
        logging.config.dictConfig(logging_config(settings.log_level, settings.log_format))

        async def run() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)  # finish the round's transaction, then stop
            async with orm_session(settings.database_url):
                # The lock is held by this command already: the worker's own would refuse itself.
                await Worker(settings, blob_store(settings), first_delay=0).run(stop)

        asyncio.run(run())


@main.command("voucher-sample")
@click.argument("kind", type=click.Choice(["acceptance", "refusal", "correction", "approval", "denial"]))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--materials", type=click.IntRange(1, 500), default=3, show_default=True,
              help="How many materials a correction notice lists (30 spans pages).")
def voucher_sample(kind: str, out: Path, materials: int) -> None:
    """Render a voucher (文书) with demo data to OUT.pdf, to look at one."""
    from api.workflow.vouchers import FontMissing, render, sample

    try:
        out.write_bytes(render(sample(kind, materials)))
    except FontMissing as exc:
        raise click.ClickException(str(exc)) from None
    console.print(f"[green]wrote[/] {out}")


@main.command("audit-verify")
def audit_verify() -> None:
    """Check every audit chain from its first entry: exit 0 when intact, 1 naming each chain's first broken entry."""
    from api.audit.services import Verdict, verify
    from api.core.db import orm_session

    settings = _settings()

    async def run() -> Verdict:
        async with orm_session(settings.database_url):
            return await verify()

    verdict = asyncio.run(run())
    if not verdict.breaks:
        console.print(f"[green]audit chain intact[/]: {verdict.entries} entries (审计链完整)")
        return
    for broken in verdict.breaks:
        where = (f"entry id={broken.entry_id} (chain {broken.chain}, seq {broken.seq})" if broken.entry_id is not None
                 else f"the head of chain {broken.chain}")
        console.print(f"[red]audit chain broken (审计链被篡改)[/] at {where}: {broken.problem}: {broken.detail}")
    console.print(f"{len(verdict.breaks)} chain(s) broken; {verdict.entries} entries verify")
    sys.exit(1)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--no-blobs", is_flag=True,
              help="List the blobs with their hashes instead of copying them (an object store replicated by itself).")
def backup(directory: Path, no_blobs: bool) -> None:
    """Back up the database (pg_dump, or SQLite's online backup) and the blobs into a new DIRECTORY."""
    from api.backup import BackupError
    from api.backup import backup as run

    settings = _settings()
    try:
        manifest = asyncio.run(run(settings, directory, with_blobs=not no_blobs, say=console.print))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    counts = manifest["counts"]
    console.print(f"[green]backed up[/] into {directory}: {counts['cases']} cases, {counts['materials']} "
                  f"materials, {counts['audit_entries']} audit entries, {manifest['blobs']['count']} blobs (备份完成)")


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore(directory: Path) -> None:
    """Restore a backup into an empty database and an empty blob store, then verify it."""
    from api.backup import BackupError
    from api.backup import restore as run

    settings = _settings()
    try:
        done = asyncio.run(run(settings, directory, say=console.print))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    console.print(f"[green]restored and verified[/]: {done.snapshot.cases} cases, {done.materials_verified} "
                  f"materials' blobs and hashes, audit chain of {done.audit_entries_verified} entries intact "
                  f"(恢复完成，校验通过)")


@main.command("check-deploy")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="How many server processes will run (default: ZHENGWU_WORKERS, else 1).")
def check_deploy(workers: int | None) -> None:
    """List every unsafe production setting in the environment; exit 1 if there is any."""
    import os

    from api.core.deploy import deployment_problems

    if workers is None:
        raw = os.environ.get("ZHENGWU_WORKERS", "1").strip()
        workers = int(raw) if raw.isdigit() and int(raw) > 0 else 1
    problems = deployment_problems(workers=workers)
    for problem in problems:
        click.echo(f"✗ {problem}")
    if problems:
        click.echo(f"{len(problems)} unsafe production setting(s) (生产环境配置不安全)", err=True)
        sys.exit(1)
    click.echo("no unsafe production settings found (生产环境配置检查通过)")


@main.command("vapid-keys")
def vapid_keys() -> None:
    """Print a new VAPID key pair for Web Push (keep the private key in ZHENGWU_VAPID_PRIVATE_KEY)."""
    from api.notifications.push import generate_keys

    private, public = generate_keys()
    # Printed once, to stdout only: it is not written anywhere. Changing it later ends every
    # browser's subscription (they were made with the public key).
    click.echo(f"ZHENGWU_VAPID_PRIVATE_KEY={private}")
    click.echo(f"# public key (GET /api/v1/push/key serves it): {public}")


@main.command()
@click.option("--batch", default=100, show_default=True, type=click.IntRange(1, 1000), help="rows claimed at a time")
def dispatch(batch: int) -> None:
    """Deliver the notification outbox until stopped (PostgreSQL: run as many as wanted)."""
    from api.notifications.dispatcher import main as run

    run(["--batch", str(batch)])


if __name__ == "__main__":
    sys.exit(main())
