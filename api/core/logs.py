"""Logging: personal numbers never reach a log, records keep their shape, and writing never
blocks the event loop.

* **Redaction happens on output.** Every handler zhengwu configures formats a record first and
  masks resident ID numbers and mobile numbers in the finished text, so the message, its
  arguments, exception tracebacks (``exc_text``) and ``stack_info`` are all covered, and the
  record itself is never changed: uvicorn's access formatter and any other formatter that reads
  ``args`` keep working. A cheap pre-check (no run of 11 or of 17+ digits, no personal number)
  lets almost every line skip the masking regexes, and the access line, one per request, is
  masked once where it is made (its path, query and client address) and not scanned again.
  Handlers installed by the host before the app starts (uvicorn, gunicorn, ``logging.lastResort``)
  get the same masking through :func:`install_redaction`.
* **One line per event**: ``ZHENGWU_LOG_FORMAT=json`` gives one JSON object per line for log
  collectors (time, level, logger, message, request_id, and for requests route, status and
  duration_ms); the default text stays readable.
* **Writes leave the event loop**: :class:`BackgroundHandler` formats on the caller's thread (so
  the request id of the request being served is known) and hands the line to a
  ``QueueListener`` thread that does the blocking write. Closing it, which ``logging.shutdown``
  does at interpreter exit, drains the queue, so no line is lost on SIGTERM.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import queue
import re
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from typing import IO, Any

import msgspec

_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9A-Za-z])")
# Full-width digits too: a phone typed with a Chinese input method may arrive as １３８…
_MOBILE = re.compile(r"(?<!\d)([1１][3-9３-９]\d)\d{4}(\d{4})(?!\d)")
# A mobile number is a run of exactly 11 digits, an ID number one of 17 or 18 (the last may be
# X), and ``\d`` means the same (Unicode) digits here as in the patterns: text without such a run
# holds neither. Most lines have no run of 11 digits at all (one fast scan); item codes have runs
# of 12 and 14, which the run lengths then clear without the two masking passes.
_LONG_DIGITS = re.compile(r"\d{11}")
_DIGIT_RUNS = re.compile(r"\d{11,}")


def _may_hold_personal_number(text: str) -> bool:
    if _LONG_DIGITS.search(text) is None:
        return False
    return any(len(run) == 11 or len(run) >= 17 for run in _DIGIT_RUNS.findall(text))


# The id of the request being served (set by api/core/request_context.py), for log lines and
# error bodies; None outside a request.
request_id: ContextVar[str | None] = ContextVar("zhengwu_request_id", default=None)


def current_request_id() -> str | None:
    return request_id.get()


def redact(text: str) -> str:
    """Mask resident ID numbers (first 6 and last 4 kept) and mobile numbers (138****8000)."""
    if not _may_hold_personal_number(text):
        return text
    return _MOBILE.sub(r"\1****\2", _ID_NUMBER.sub(r"\1********\2", text))


def holds_personal_number(text: str) -> bool:
    return redact(text) != text


class _SecondClock:
    """``time.strftime`` for the current second, computed once a second rather than per line."""

    def __init__(self, fmt: str, utc: bool) -> None:
        self.fmt, self.convert = fmt, time.gmtime if utc else time.localtime
        self.last: tuple[int, str] = (-1, "")  # one attribute: threads never see a torn pair

    def __call__(self, created: float) -> str:
        second = int(created)
        last = self.last
        if last[0] != second:
            last = self.last = (second, time.strftime(self.fmt, self.convert(second)))
        return last[1]


class RedactingFormatter(logging.Formatter):
    """Marker base: formatters whose output is already masked."""


class TextFormatter(RedactingFormatter):
    """``2026-12-04 18:00:00.123 INFO zhengwu.access <message> [request id]``."""

    def __init__(self) -> None:
        super().__init__()
        self._clock = _SecondClock("%Y-%m-%d %H:%M:%S", utc=False)

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self._clock(record.created)}.{int(record.msecs):03d} {record.levelname} {record.name} " \
               f"{record.getMessage()}"
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            line = f"{line} [{rid}]"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line = f"{line}\n{record.exc_text}"
        if record.stack_info:
            line = f"{line}\n{self.formatStack(record.stack_info)}"
        elif getattr(record, "redacted", False) and not record.exc_text:
            return line  # an access line: its one free-form part, the path, was masked when it was made
        return redact(line)


def _unchanged(text: str) -> str:
    return text


_json = msgspec.json.Encoder()
# Attributes a request's access record carries (api/core/request_context.py), copied into JSON.
ACCESS_FIELDS = ("route", "status", "duration_ms", "method", "path", "client")


class JsonFormatter(RedactingFormatter):
    """One JSON object per line. Every string is masked before encoding, so a masked number can
    never turn a JSON number into invalid text."""

    def __init__(self) -> None:
        super().__init__()
        self._clock = _SecondClock("%Y-%m-%dT%H:%M:%S", utc=True)

    def format(self, record: logging.LogRecord) -> str:
        clean: Callable[[str], str] = _unchanged if getattr(record, "redacted", False) else redact
        out: dict[str, Any] = {
            "time": f"{self._clock(record.created)}.{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": clean(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id.get(),
        }
        for name in ACCESS_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = clean(value) if isinstance(value, str) else value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = redact(record.exc_text)
        if record.stack_info:
            out["stack"] = redact(self.formatStack(record.stack_info))
        return _json.encode(out).decode()


class _Redacting(RedactingFormatter):
    """Masks the output of a formatter zhengwu did not create (uvicorn's, gunicorn's, …)."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record))


def formatter(log_format: str = "text") -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


class _Line:
    """What the writer thread gets: the finished line (``args`` for logging's error report)."""

    __slots__ = ("args", "msg")

    def __init__(self, msg: str) -> None:
        self.msg, self.args = msg, None


class _Writer(logging.StreamHandler):
    """The writer thread's handler: the line was finished (and masked) before it was queued.

    Lines gather while more are queued and go out in one write when the queue runs dry, so a
    burst costs one system call, not one a line. A write never exceeds 4096 bytes (PIPE_BUF) nor
    ends inside a line, so lines of processes or streams sharing one pipe never interleave.
    """

    # Characters, not bytes: 1024 of them encode to at most 4096 bytes of UTF-8.
    BATCH = 1024

    def __init__(self, stream: IO[str], pending: queue.SimpleQueue) -> None:
        super().__init__(stream)
        self.pending = pending
        self.batch: list[str] = []
        self.batched = 0

    def emit(self, record: logging.LogRecord | _Line) -> None:
        try:
            if self.batched + len(record.msg) > self.BATCH:
                self._write()
            self.batch.append(record.msg)
            self.batched += len(record.msg) + 1
            if self.pending.empty():
                self._write()
        except Exception:
            self.handleError(record)  # type: ignore[arg-type]

    def _write(self) -> None:
        if self.batch:
            text = "\n".join(self.batch) + "\n"
            self.batch.clear()
            self.batched = 0
            self.stream.write(text)
            self.stream.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write()


class _Listener(logging.handlers.QueueListener):
    # Woken for every line, the writer thread would take the GIL from the event loop once per
    # request; lingering a moment when the queue runs dry lets a burst gather and go in one turn.
    LINGER = 0.005

    def dequeue(self, block: bool) -> Any:
        if block and self.queue.empty():
            time.sleep(self.LINGER)
        return self.queue.get(block)


def _drain_then_terminate(signum: int, frame: object) -> None:
    logging.shutdown()  # closes the handlers: every queued line is written
    signal.signal(signum, signal.SIG_DFL)
    signal.raise_signal(signum)


def _drain_on_sigterm() -> None:
    """uvicorn ends a SIGTERM'd server by raising SIGTERM again under the handler it found at
    start; if that is the default (die at once, no atexit), the last queued lines would be lost.
    Where nobody handles SIGTERM, drain the log first, then die by the same signal."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _drain_then_terminate)


class BackgroundHandler(logging.handlers.QueueHandler):
    """Formats on the calling thread, writes ``stream`` on a ``QueueListener`` thread."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        # The writer exists before this handler, so logging.shutdown (which closes handlers
        # newest first) closes this one, draining the queue into the writer, and then the writer.
        pending: queue.SimpleQueue = queue.SimpleQueue()
        self.writer = _Writer(stream or sys.stderr, pending)
        super().__init__(pending)
        self.setFormatter(TextFormatter())
        self.listener: logging.handlers.QueueListener | None = _Listener(pending, self.writer)
        self.listener.start()
        _drain_on_sigterm()

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        if fmt is not None and not isinstance(fmt, RedactingFormatter):
            fmt = _Redacting(fmt)
        super().setFormatter(fmt)

    def handleError(self, record: logging.LogRecord) -> None:
        # logging's own report prints the record's raw message and arguments: mask it too.
        if logging.raiseExceptions and sys.stderr:
            report = (f"--- Logging error ---\n{traceback.format_exc()}"
                      f"Message: {record.msg!r}\nArguments: {record.args!r}\n")
            with contextlib.suppress(Exception):  # stderr itself is gone: nothing left to tell
                sys.stderr.write(redact(report))

    def prepare(self, record: logging.LogRecord) -> _Line:  # type: ignore[override]
        # Formatted here, where the request's context is; the writer needs only the text, and a
        # copy of the whole record (the default) would cost about as much as formatting it.
        return _Line(self.format(record))

    def enqueue(self, record: _Line) -> None:  # type: ignore[override]
        if self.listener is None:  # closed (logging reconfigured, shutting down): write it here
            with self.writer.lock:  # type: ignore[union-attr]
                self.writer.emit(record)
                self.writer.flush()
        else:
            super().enqueue(record)  # type: ignore[arg-type]

    def close(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.stop()  # hands every queued line to the writer before returning
        self.writer.flush()
        self.writer.close()
        super().close()


def logging_config(level: str = "info", log_format: str = "text") -> dict[str, Any]:
    """The ``logging.config.dictConfig`` of ``zhengwu serve`` (given to uvicorn, applied in
    every worker process): app, uvicorn and library records to stderr, the access log to
    stdout, both written off the event loop."""
    level = level.upper()

    def handler(stream: str) -> dict[str, Any]:
        return {"()": BackgroundHandler, "stream": f"ext://sys.{stream}", "formatter": "zhengwu"}

    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"zhengwu": {"()": formatter, "log_format": log_format}},
        "handlers": {"stderr": handler("stderr"), "stdout": handler("stdout")},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["stdout"], "level": level, "propagate": False},
            "zhengwu.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": level},
    }


def install_redaction() -> None:
    """Mask the output of every handler installed so far (by uvicorn, gunicorn, a test runner)
    and of ``logging.lastResort``; idempotent. The records themselves are left untouched."""
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
    handlers = [h for lg in loggers for h in lg.handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for h in handlers:
        if not isinstance(h.formatter, RedactingFormatter):
            h.setFormatter(_Redacting(h.formatter or logging.Formatter()))
