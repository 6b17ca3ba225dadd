"""The store's work in a process of its own, so that turns run on another core.

With the store on a thread of `serve`'s own process (`StoreWorker`), a turn holds the
interpreter's lock for its Python work and hands it back and forth with the event loop at
every statement: on a busy server the two take turns on one core, and each waits for the
other. `StoreProcess` runs the same calls in a child process that owns the coach and the
store; the loop only sends each call and reads its answer, and both cores work at once.

A call crosses as a pickled frame on a socket pair: which object (`port`, the `CoachPort`
of the child's coach; `store`, its store; or `passes`, the store side of its check-in
passes, `bot.checkins.passes.PassWork`), which method, the arguments, and the moment
after which it must not start. `remote(PORT)`, `remote(STORE)` and `remote(PASSES)` stand
in for those objects in `serve`'s process: their methods are `Remote` names, which `run`
sends across. Anything else handed to `run` runs on the `local` worker, a thread with the
parent's own connection to the same file.

The bounded wait is the thread worker's: a call still waiting when its time is up never
starts (the child checks the deadline first, on the same monotonic clock), a call running
then finishes, and the caller gets `StoreBusy`; `run_then`'s `late` gets what it returned.
If the child dies, what was in flight fails with `StoreBusy` and the next call starts a
new child; a turn that committed before the death is recognised on the platform's retry.

When a call in the child changes what is due (a lead's `checkin now`, a new schedule, a
finished interview), the child says so after the call's answer, once it has committed;
`subscribe` hands that on in `serve` (to its check-ins, which wake the scheduler).

Arguments, results and renders must pickle: a door's render is a module-level function,
or a `functools.partial` of one, over plain data.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import io
import itertools
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, ClassVar, ParamSpec, TypeVar

from bot.clock import Clock
from bot.floods import configure_logging
from bot.store.records import StoreBusy
from bot.worker import WAIT_S, Worker

log = logging.getLogger("coffee_coach.store_process")

P = ParamSpec("P")
T = TypeVar("T")

PORT, STORE, PASSES = "port", "store", "passes"
# The id of a frame the child sends of its own accord: its check-ins changed (`subscribe`).
_CHANGED = -1
_HEADER = struct.Struct("!I")
# How long the child may take to open the store and say it is ready.
START_S = 60.0


@dataclass(frozen=True, slots=True)
class Remote:
    """A method of the child's `port` or `store`, by name."""

    target: str
    method: str


class _Stand:
    """The child's port or store, as seen from `serve`: each method is its `Remote`."""

    def __init__(self, target: str) -> None:
        self._target = target

    def __getattr__(self, method: str) -> Remote:
        if method.startswith("__"):
            raise AttributeError(method)
        return Remote(self._target, method)


def remote(target: str) -> Any:
    """What stands in for the child's `PORT` or `STORE` (typed as the object it names)."""
    return _Stand(target)


@dataclass(frozen=True, slots=True)
class StoreSpec:
    """How the child opens its store (as `serve` opens it), and how long a call may wait.

    `busy_timeout_ms` is how long SQLite waits for another process's lock; `wait_s` how
    long `serve` waits for a call before it answers `StoreBusy`. `clock` is the child's
    (the system's by default; a benchmark's `ManualClock` crosses as a copy, stopped at
    its moment).
    """

    db: str
    busy_timeout_ms: int = int(WAIT_S * 1000)
    wait_s: float = WAIT_S
    clock: Clock | None = None


class _Pickler(pickle.Pickler):
    """Pickles a plain dataclass as its class and its fields' values.

    The default for a slots dataclass goes through Python-level `__getstate__` and
    `__setstate__` (about half the cost of a turn's answer crossing back); rebuilding it
    with its own constructor is the same object at a fraction of that. Only a class whose
    every field goes to `__init__` and that has no `__post_init__` is pickled this way.
    """

    fields: ClassVar[dict[type, tuple[str, ...] | None]] = {}

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        names = self.fields.get(cls, ())
        if names == ():
            names = self.fields[cls] = _plain_fields(cls)
        if names is None:
            return NotImplemented
        return cls, tuple([getattr(obj, name) for name in names])


def _plain_fields(cls: type) -> tuple[str, ...] | None:
    if not dataclasses.is_dataclass(cls) or hasattr(cls, "__post_init__"):
        return None
    # The decorator's own constructor (compiled from "<string>"), not one the class wrote,
    # whose arguments need not be the fields.
    made = getattr(getattr(cls, "__init__", None), "__code__", None)
    if not cls.__dataclass_params__.init or getattr(made, "co_filename", "") != "<string>":  # type: ignore[attr-defined]
        return None
    fields = dataclasses.fields(cls)
    if not all(f.init for f in fields):
        return None
    return tuple(f.name for f in fields)


def _frame(obj: object) -> bytes:
    out = io.BytesIO()
    out.write(b"\0" * _HEADER.size)
    _Pickler(out, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    data = out.getbuffer()
    _HEADER.pack_into(data, 0, len(data) - _HEADER.size)
    del data
    return out.getvalue()


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


class _Call:
    __slots__ = ("future", "late", "timed_out", "timer")

    def __init__(self, future: asyncio.Future[Any], late: Callable[[Any], object] | None) -> None:
        self.future = future
        self.late = late
        self.timed_out = False
        self.timer: asyncio.TimerHandle | None = None


class StoreProcess:
    """A `Worker` whose `Remote` calls run in a child process that owns the store."""

    def __init__(self, spec: StoreSpec, *, local: Worker) -> None:
        self.spec = spec
        self.local = local
        self.wait_s = spec.wait_s
        self._ids = itertools.count()
        self._calls: dict[int, _Call] = {}
        self._child: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._starting: asyncio.Lock | None = None
        self._closed = False
        self._listeners: list[Callable[[], object]] = []

    def subscribe(self, listener: Callable[[], object]) -> None:
        """Call `listener` (on the loop) whenever the child's check-ins change."""
        self._listeners.append(listener)

    # --- the child ------------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """The running child's process id (None before the first start)."""
        return self._child.pid if self._child is not None else None

    async def start(self) -> None:
        """Start the child (if none is running) and wait until its store is open."""
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            if self._writer is not None and not self._writer.is_closing():
                return
            if self._closed:
                raise StoreBusy("the store process has stopped")
            ours, theirs = socket.socketpair()
            with theirs:
                self._child = subprocess.Popen(
                    [sys.executable, "-m", "bot.store_process", str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),),
                )
            self._sock = ours
            reader, writer = await asyncio.open_connection(sock=ours)
            writer.write(_frame(self.spec))
            try:
                ready = await asyncio.wait_for(self._read(reader), START_S)
            except (asyncio.IncompleteReadError, TimeoutError) as exc:
                writer.close()
                raise StoreBusy("the store process did not start") from exc
            if ready != "ready":
                writer.close()
                raise StoreBusy(f"the store process could not open the store: {ready}")
            self._writer = writer
            self._reading = asyncio.create_task(self._answers(reader), name="coffee-coach store")

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Any:
        (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
        return pickle.loads(await reader.readexactly(size))

    async def _answers(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                call_id, ok, value = await self._read(reader)
                if call_id == _CHANGED:
                    for listener in list(self._listeners):
                        listener()
                    continue
                self._settle(call_id, ok, value)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        if not self._closed:
            log.error("the store process stopped; the next call starts another")
        if self._writer is not None:
            self._writer.close()
        self._writer = None
        calls, self._calls = self._calls, {}
        for call in calls.values():
            if not call.future.done():
                call.future.set_exception(StoreBusy("the store process stopped"))

    def _settle(self, call_id: int, ok: bool, value: Any) -> None:
        call = self._calls.pop(call_id, None)
        if call is None:
            return
        if call.timer is not None:
            call.timer.cancel()
        if not call.future.done():
            if ok:
                call.future.set_result(value)
            else:
                call.future.set_exception(value)
        elif ok and call.timed_out and call.late is not None:
            call.late(value)  # given up on, and it committed all the same
        elif not ok and not isinstance(value, StoreBusy):
            log.error("store work that timed out failed afterwards: %r", value)

    # --- calls ----------------------------------------------------------------------------

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        if isinstance(fn, Remote):
            return await self._call(None, fn, args, kwargs)
        return await self.local.run(fn, *args, **kwargs)

    async def run_then(
        self, late: Callable[[T], object], fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        if isinstance(fn, Remote):
            return await self._call(late, fn, args, kwargs)
        return await self.local.run_then(late, fn, *args, **kwargs)

    async def _call(
        self,
        late: Callable[[Any], object] | None,
        fn: Remote,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        if self._writer is None or self._writer.is_closing():
            await self.start()
        assert self._writer is not None
        loop = asyncio.get_running_loop()
        call_id = next(self._ids)
        call = _Call(loop.create_future(), late)
        deadline = time.monotonic() + self.wait_s
        self._writer.write(_frame((call_id, fn.target, fn.method, args, kwargs, deadline)))
        self._calls[call_id] = call
        call.timer = loop.call_later(self.wait_s, self._expire, call)
        try:
            return await call.future
        except asyncio.CancelledError:
            call.late = None
            raise

    def _expire(self, call: _Call) -> None:
        call.timed_out = True
        if not call.future.done():
            call.future.set_exception(
                StoreBusy(f"the store did not answer within {self.wait_s:g} s")
            )

    def close(self) -> None:
        """Let the child finish what it started and stop (from any thread)."""
        self._closed = True
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_WR)
        if self._child is not None:
            try:
                self._child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
        self.local.close()


# --- in the child ---------------------------------------------------------------------------


def _read_frame(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    return pickle.loads(stream.read(size))


def _open(spec: StoreSpec, changed: Callable[[], None]) -> dict[str, object]:
    from bot.checkins.extension import install as install_checkins
    from bot.checkins.passes import PassWork
    from bot.engine import Coach
    from bot.port import CoachPort
    from bot.store import open_store

    coach = Coach(open_store(spec.db, clock=spec.clock, busy_timeout_ms=spec.busy_timeout_ms))
    checkins = install_checkins(coach)
    checkins.subscribe(changed)
    coach.store.checkpoint_in_background()
    return {PORT: CoachPort(coach), STORE: coach.store, PASSES: PassWork(checkins)}


def serve_calls(sock: socket.socket) -> None:
    """Answer calls on `sock` until `serve` closes it (or is gone)."""
    with contextlib.suppress(ConnectionError):
        _serve_calls(sock)


def _serve_calls(sock: socket.socket) -> None:
    stream = sock.makefile("rb")
    spec = _read_frame(stream)
    changes: list[None] = []
    try:
        targets = _open(spec, lambda: changes.append(None))
    except Exception as exc:
        sock.sendall(_frame(f"{type(exc).__name__}: {exc}"))
        return
    sock.sendall(_frame("ready"))
    gc.collect()
    gc.freeze()
    send = sock.sendall
    while (request := _read_frame(stream)) is not None:
        call_id, target, method, args, kwargs, deadline = request
        if time.monotonic() > deadline:
            send(_frame((call_id, False, StoreBusy("the call waited too long to start"))))
            continue
        try:
            value = getattr(targets[target], method)(*args, **kwargs)
        except BaseException as exc:
            send(_frame((call_id, False, _picklable(exc))))
        else:
            try:
                send(_frame((call_id, True, value)))
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                send(_frame((call_id, False, RuntimeError(f"an answer did not pickle: {exc}"))))
        if changes:
            changes.clear()
            send(_frame((_CHANGED, True, None)))


def main(argv: list[str]) -> None:
    # serve's own Ctrl-C stops it, and serve then stops this process: not the other way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging()
    with socket.socket(fileno=int(argv[0])) as sock:
        serve_calls(sock)
    os._exit(0)  # the checkpoint thread is a daemon: nothing else to wait for


if __name__ == "__main__":
    main(sys.argv[1:])
