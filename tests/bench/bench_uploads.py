"""Upload benchmark: tus upload throughput against two ceilings measured in the same run — a bare
Litestar endpoint that reads and discards the same bodies (the HTTP ceiling) and ``dd
conv=fdatasync`` of the same bytes on the same disk (durable disk) — plus a third reference, the
durable floor (``durable_upload_app``: the bare endpoint plus hashing and durable writing, nothing
else), and the server's peak RSS growth during one 200 MB upload.

    python tests/bench/bench_uploads.py [--chunk-mib 5] [--sizes 5,200] [--concurrency 1,16]
                                        [--passes 3] [--no-creation-with-upload] [--database postgres://…]

Prints MiB/s per scenario and the ratios (targets: tus ≥ 50 % of the HTTP ceiling, < 50 MB RSS
growth for a 200 MB upload). Figures, not assertions: it never fails on speed.

All three servers run as ``python -m uvicorn`` with the same settings (one worker, no access log);
the client (httpx, async) sends the same chunks to each: to the app, the first chunk with the
creating POST (tus creation-with-upload, as the PWA sends it) and one PATCH per further chunk; to
the bare endpoint and the durable floor, one POST per chunk. Each scenario runs ``--passes``
times, the three taking turns to go first, each pass at least 100 MiB per side; the table shows
the median pass. Every upload is a distinct valid PDF (a unique marker in its padding, so content
addressing cannot deduplicate it) for a material whose catalog limit is raised
to 200 MB; ZHENGWU_MAX_UPLOAD_MB raises the server-wide limit.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from servers import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MIB = 1024 * 1024
ITEM = "511Z5001050000-511900000000-000-11511900MB00102256-1-00"  # 营业执照遗失补领 (demo catalog)
ANSWERS = {"reason": "lost", "agent": "no"}
TUS = {"Tus-Resumable": "1.0.0"}
MARK = b"BENCHMARK-UNIQUE-"
MIN_BYTES = 100 * MIB  # per pass and scenario: small files run several rounds



def uvicorn(app: str, port: int, env: dict[str, str], factory: bool = False) -> subprocess.Popen:
    args = [str(BIN / "python"), "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log"]
    if factory:
        args.append("--factory")
    return subprocess.Popen(args, cwd=ROOT, env=env)




def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in bytes."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS (``echo 5 > /proc/PID/clear_refs``, Linux ≥ 4.0)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------- test data


def pdf_of_size(size: int) -> bytes:
    """A valid one-page PDF of exactly ``size`` bytes: its content stream is comment lines
    (padding), the first of which holds a marker that each upload overwrites with its own id."""
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DecodedStreamObject, NameObject

    def build(padding: int) -> bytes:
        writer = PdfWriter()
        page = writer.add_blank_page(200, 200)
        head = b"% " + MARK + b"0" * 32 + b"\n"
        line = b"% " + b"." * 61 + b"\n"
        body = head + line * max(0, padding // len(line)) + b"%" * max(0, padding % len(line)) + b"\n0 0 m\n"
        parts = ArrayObject()  # pypdf refuses streams over 75 MB: several content streams
        for start in range(0, len(body), 32 * MIB):
            stream = DecodedStreamObject()
            stream.set_data(body[start:start + 32 * MIB])
            parts.append(writer._add_object(stream))
        page[NameObject("/Contents")] = parts
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    padding = size
    for _ in range(5):
        data = build(padding)
        if len(data) == size:
            return data
        padding += size - len(data)
    raise RuntimeError(f"cannot build a PDF of exactly {size} bytes")


@dataclass
class Body:
    """One upload's bytes, chunked; only the chunk with the marker differs between uploads."""

    base: bytes
    mark_at: int

    def chunks(self, chunk: int, unique: str) -> list[bytes | memoryview]:
        view = memoryview(self.base)
        out: list[bytes | memoryview] = []
        for start in range(0, len(self.base), chunk):
            piece: bytes | memoryview = view[start:start + chunk]
            if start <= self.mark_at < start + chunk:
                b = bytearray(piece)
                pos = self.mark_at - start + len(MARK)
                b[pos:pos + 32] = unique.encode()
                piece = bytes(b)
            out.append(piece)
        return out


# --------------------------------------------------------------------------- setup over HTTP


async def sign_in(client: httpx.AsyncClient) -> dict[str, str]:
    phone = f"139{int(time.time()) % 100_000_000:08d}"
    r = await client.post("/api/v1/auth/otp", json={"phone": phone})
    r.raise_for_status()
    r = await client.get("/api/v1/dev/sms", params={"phone": phone})
    r.raise_for_status()
    r = await client.post("/api/v1/auth/token", json={"phone": phone, "code": r.json()["codes"][0]})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def new_case(client: httpx.AsyncClient, auth: dict[str, str]) -> tuple[int, str]:
    r = await client.post("/api/v1/cases", json={"item_code": ITEM, "answers": ANSWERS}, headers=auth)
    if r.status_code != 201:
        raise SystemExit(f"cannot create a case: {r.status_code} {r.text}")
    case = r.json()
    material = next(m for m in case["materials"] if m.get("source", "applicant") == "applicant")
    return case["id"], material["code"]


def metadata(**values: object) -> str:
    return ",".join(f"{k} {base64.b64encode(str(v).encode()).decode()}" for k, v in values.items())


# --------------------------------------------------------------------------- the two uploaders


async def tus_upload(client: httpx.AsyncClient, auth: dict[str, str], target: tuple[int, str],
                     chunks: list[bytes | memoryview], before_last: Callable[[], object] | None = None,
                     with_upload: bool = True) -> None:
    """One tus upload: the first chunk travels with the creation POST (creation-with-upload, as
    the PWA's tus-js-client sends it) unless ``with_upload`` is off; then one PATCH per chunk."""
    length = sum(len(c) for c in chunks)
    first = with_upload and bool(chunks) and (before_last is None or len(chunks) > 1)
    headers = {**auth, **TUS, "Upload-Length": str(length),
               "Upload-Metadata": metadata(case_id=target[0], material_id=target[1], filename="bench.pdf")}
    if first:
        r = await client.post("/api/v1/uploads", content=bytes(chunks[0]),
                              headers={**headers, "Content-Type": "application/offset+octet-stream"})
    else:
        r = await client.post("/api/v1/uploads", headers=headers)
    if r.status_code != 201:
        raise SystemExit(f"tus create: {r.status_code} {r.text}")
    url = r.headers["Location"]
    offset = int(r.headers["Upload-Offset"])
    for i, chunk in enumerate(chunks[1:] if first else chunks, start=1 if first else 0):
        if before_last is not None and i == len(chunks) - 1:
            before_last()
        r = await client.patch(url, content=bytes(chunk), headers={
            **auth, **TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)})
        if r.status_code != 204:
            raise SystemExit(f"tus PATCH at {offset}: {r.status_code} {r.text[:500]}")
        offset += len(chunk)


async def bare_upload(client: httpx.AsyncClient, url: str, chunks: list[bytes | memoryview]) -> None:
    for chunk in chunks:
        r = await client.post(url, content=bytes(chunk), headers={"Content-Type": "application/octet-stream"})
        if r.status_code != 204:
            raise SystemExit(f"bare POST: {r.status_code} {r.text[:200]}")


def dd(directory: Path, mib: int, concurrency: int) -> float:
    """MiB/s of ``concurrency`` parallel ``dd if=/dev/zero bs=1M count=mib conv=fdatasync``."""
    files = [directory / f"dd-{i}" for i in range(concurrency)]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(["dd", "if=/dev/zero", f"of={f}", "bs=1M", f"count={mib}", "conv=fdatasync"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for f in files]
    for p in procs:
        p.wait(timeout=300)
    elapsed = time.perf_counter() - t0
    for f in files:
        f.unlink(missing_ok=True)
    return mib * concurrency / elapsed


# --------------------------------------------------------------------------- main


def prepare_catalog(env: dict[str, str], var: Path, zw: str) -> None:
    """The demo catalog with the benchmark item's applicant materials raised to 200 MB, PDF allowed."""
    subprocess.run([zw, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([zw, "seed", "--demo"], env=env, check=True, capture_output=True)
    exported = var / "catalog.json"
    subprocess.run([zw, "export-catalog", str(exported)], env=env, check=True, capture_output=True)
    doc = json.loads(exported.read_text())
    item = next(i for i in doc["items"] if i["code"] == ITEM)

    def raise_limits(node: object) -> None:
        if isinstance(node, dict):
            for material in node.get("materials", []):  # defaults are left out of the export
                material["max_size_mb"] = 200
                if "accepted_types" in material and "application/pdf" not in material["accepted_types"]:
                    material["accepted_types"].append("application/pdf")
            for value in node.values():
                raise_limits(value)
        elif isinstance(node, list):
            for value in node:
                raise_limits(value)

    raise_limits(item)
    exported.write_text(json.dumps(doc, ensure_ascii=False))
    r = subprocess.run([zw, "import-catalog", str(exported)], env=env, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"import-catalog failed:\n{r.stdout}\n{r.stderr}")


async def timed_rounds(pid: int, rounds: int, mib: int, one_round: Callable[[int], Awaitable[None]]
                       ) -> tuple[float, float]:
    """MiB/s of ``rounds`` rounds of uploads, and the server's CPU ms per MiB meanwhile."""
    t0, c0 = time.perf_counter(), cpu_seconds(pid)
    for r in range(rounds):
        await one_round(r)
    return mib / (time.perf_counter() - t0), (cpu_seconds(pid) - c0) * 1000 / mib


async def run(args: argparse.Namespace, app_url: str, bare_url: str, floor_url: str, app_pid: int, bare_pid: int,
              floor_pid: int, var: Path) -> dict:
    chunk = args.chunk_mib * MIB
    sizes = [int(s) for s in args.sizes.split(",")]
    levels = [int(c) for c in args.concurrency.split(",")]
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    timeout = httpx.Timeout(300)
    results: dict = {"rows": [], "rss": None}
    async with httpx.AsyncClient(base_url=app_url, limits=limits, timeout=timeout) as app, \
            httpx.AsyncClient(limits=limits, timeout=timeout) as bare:
        auth = await sign_in(app)
        if 200 in sizes and not args.no_rss:  # first, on a server not yet grown by the scenarios
            warm = Body(pdf_of_size(MIB), 0)
            warm.mark_at = warm.base.index(MARK)
            await tus_upload(app, auth, await new_case(app, auth), warm.chunks(chunk, uuid.uuid4().hex))
            body = Body(pdf_of_size(200 * MIB), 0)
            body.mark_at = body.base.index(MARK)
            target = await new_case(app, auth)
            plan = body.chunks(chunk, uuid.uuid4().hex)
            await asyncio.sleep(1)
            reset = reset_peak(app_pid)
            before = proc_status(app_pid)
            transfer: dict[str, int] = {}
            await tus_upload(app, auth, target, plan, before_last=lambda: transfer.update(proc_status(app_pid)))
            after = proc_status(app_pid)
            results["rss"] = (reset, before, transfer, after)
        for mib in sizes:
            t0 = time.perf_counter()
            body = Body(pdf_of_size(mib * MIB), 0)
            body.mark_at = body.base.index(MARK)
            print(f"built a {mib} MiB PDF in {time.perf_counter() - t0:.1f}s", flush=True)
            for n in levels:
                # Each pass times the bare endpoint and tus on the same number of bytes (at least
                # MIN_BYTES, so a figure is not one blink), in alternating order; the row shows
                # the median pass (by ratio) so one hiccup of a busy machine does not decide it.
                rounds = max(1, -(-MIN_BYTES // (mib * MIB * n)))
                passes = []
                for p in range(args.passes):
                    # Cases first (not timed): one draft per upload, the material raised to 200 MB.
                    targets = [[await new_case(app, auth) for _ in range(n)] for _ in range(rounds)]
                    plans = [[body.chunks(chunk, uuid.uuid4().hex) for _ in range(n)] for _ in range(rounds)]
                    total = mib * n * rounds

                    async def bare_round(r: int, plans: list = plans) -> None:
                        await asyncio.gather(*(bare_upload(bare, f"{bare_url}/bare", c) for c in plans[r]))

                    async def floor_round(r: int, plans: list = plans) -> None:
                        await asyncio.gather(*(bare_upload(bare, f"{floor_url}/bare", c) for c in plans[r]))

                    async def tus_round(r: int, plans: list = plans, targets: list = targets) -> None:
                        await asyncio.gather(*(tus_upload(app, auth, t, c, with_upload=not args.no_creation_with_upload)
                                               for t, c in zip(targets[r], plans[r], strict=True)))

                    order = [(bare_pid, bare_round), (app_pid, tus_round), (floor_pid, floor_round)]
                    order = order[p % 3:] + order[:p % 3]  # each side goes first in turn
                    timed = {pid: await timed_rounds(pid, rounds, total, one_round) for pid, one_round in order}
                    (bare_rate, bare_cpu), (tus_rate, tus_cpu) = timed[bare_pid], timed[app_pid]
                    floor_rate = timed[floor_pid][0]
                    passes.append((tus_rate / bare_rate, tus_rate, bare_rate, floor_rate, tus_cpu, bare_cpu))
                    print(f"  {mib} MiB × {n}, pass {p + 1}: tus {tus_rate:.0f} MiB/s, bare {bare_rate:.0f} "
                          f"({tus_rate / bare_rate:.0%}), durable floor {floor_rate:.0f}", flush=True)
                passes.sort()
                _, tus_rate, bare_rate, floor_rate, tus_cpu, bare_cpu = passes[len(passes) // 2]
                disk_rate = dd(var, mib, n)
                results["rows"].append((mib, n, rounds * args.passes, tus_rate, bare_rate, floor_rate, disk_rate,
                                        tus_cpu, bare_cpu, [x[0] for x in passes]))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk-mib", type=int, default=5, choices=range(4, 8), help="tus chunk (4–7 MiB)")
    parser.add_argument("--sizes", default="5,200", help="file sizes in MiB (≤ 200)")
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--database", default="", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--no-rss", action="store_true", help="skip the RSS measurement")
    parser.add_argument("--passes", type=int, default=3, help="passes per scenario (the median is shown)")
    parser.add_argument("--no-creation-with-upload", action="store_true",
                        help="create each upload with an empty POST, then PATCH every chunk")
    args = parser.parse_args()
    if not shutil.which("dd"):
        raise SystemExit("dd is needed")

    var = Path(tempfile.mkdtemp(prefix="zhengwu-bench-uploads-"))
    env = {**os.environ, "ZHENGWU_VAR_DIR": str(var), "ZHENGWU_PWA_DIST": str(var / "no-pwa"),
           "ZHENGWU_MAX_UPLOAD_MB": "256", "ZHENGWU_DATABASE_URL": args.database or f"sqlite:///{var / 'db.sqlite3'}"}
    env.pop("ZHENGWU_ENV", None)
    zw = str(BIN / "zhengwu")
    started = time.perf_counter()
    prepare_catalog(env, var, zw)
    app_port, bare_port, floor_port = free_port(), free_port(), free_port()
    procs = [uvicorn("api.app:app_factory", app_port, env, factory=True),
             uvicorn("tests.bench.bare_upload_app:app", bare_port, env),
             uvicorn("tests.bench.durable_upload_app:app", floor_port, env)]
    try:
        wait_ready(f"http://127.0.0.1:{app_port}/api/v1/health", procs[0])
        wait_ready(f"http://127.0.0.1:{bare_port}/health", procs[1])
        wait_ready(f"http://127.0.0.1:{floor_port}/health", procs[2])
        results = asyncio.run(asyncio.wait_for(
            run(args, *(f"http://127.0.0.1:{port}" for port in (app_port, bare_port, floor_port)),
                *(proc.pid for proc in procs), var),
            timeout=1800))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(var, ignore_errors=True)

    db = "PostgreSQL" if args.database else "SQLite"
    print(f"\n{db}; chunks of {args.chunk_mib} MiB; one uvicorn worker per server; {os.cpu_count()} CPUs; "
          f"MiB/s = all bytes of a scenario / its wall time (creation and completion included); "
          f"median of {args.passes} passes\n")
    print(f"{'file':>8} {'at once':>7} {'uploads':>7} {'tus':>7} {'bare HTTP':>9} {'durable floor':>13} "
          f"{'dd':>6} {'tus/HTTP':>8} {'floor/HTTP':>10} {'tus/floor':>9} {'CPU ms/MiB tus|bare':>20}  "
          f"tus/HTTP of each pass (target ≥ 50 %)")
    for mib, n, rounds, tus, bare, floor, disk, tus_cpu, bare_cpu, ratios in results["rows"]:
        print(f"{mib:>5} MiB {n:>7} {n * rounds:>7} {tus:>7.0f} {bare:>9.0f} {floor:>13.0f} {disk:>6.0f} "
              f"{tus / bare:>8.0%} {floor / bare:>10.0%} {tus / floor:>9.0%} {tus_cpu:>13.2f} | {bare_cpu:<5.2f} "
              f" {', '.join(f'{r:.0%}' for r in ratios)}")
    print("\ndurable floor = the bare endpoint plus SHA-256 of every byte, direct writes and fsync (the"
          " uploads service's own pipeline), without tus, sign-in, database or validation;"
          " dd = dd conv=fdatasync of the same bytes")
    if results["rss"]:
        reset, before, transfer, after = results["rss"]
        base = before["VmRSS"]
        print(f"\nserver RSS, one 200 MiB upload (VmHWM {'reset' if reset else 'NOT reset: peak since start'} "
              f"before it): before {base / MIB:.0f} MiB")
        print(f"  peak during the transfer (before the last PATCH): +{(transfer['VmHWM'] - base) / MIB:.0f} MiB")
        print(f"  peak including completion (validation + store):  +{(after['VmHWM'] - base) / MIB:.0f} MiB"
              f"   target < 50 MB ({50e6 / MIB:.0f} MiB)")
        print(f"  RSS after: +{(after['VmRSS'] - base) / MIB:.0f} MiB")
    print(f"\ntotal run time {time.perf_counter() - started:.0f}s")


if __name__ == "__main__":
    main()
