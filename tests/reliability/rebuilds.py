"""Two index rebuilds in other processes while many users ask: the phases the in-process chain test
and the HTTP server test share."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from assistant.index.store import current_build_id
from assistant.settings import Settings
from tests.reliability.test_crash_safety import assistant


def ask_through_two_rebuilds(
    settings: Settings,
    users: int,
    requests: int,
    ask: Callable[[int, int], None],
    edit: Callable[[int], object],
    timeout: float = 900,
) -> list[str]:
    """``users`` threads call ``ask(user, request)`` ``requests`` (20) times each while the corpus is
    edited (``edit(1)``, ``edit(2)``) and indexed again in another process after each edit.

    Requests 0-5 run on the first build; the first rebuild runs during 6-9 and has finished before 10,
    so the switch happens during 10-13; the same for the second rebuild and 14-19. Returns the build
    ids: the first and the two new ones. A failed rebuild fails the caller, not only its thread."""
    rebuild_started = [threading.Event(), threading.Event()]
    rebuilt = [threading.Event(), threading.Event()]
    reached = [threading.Barrier(users + 1), threading.Barrier(users + 1)]
    builds = [current_build_id(settings.index_dir)]
    failed: list[BaseException] = []

    def user(k: int) -> None:
        for i in range(requests):
            for phase, at in enumerate((6, 14)):
                if i == at:
                    reached[phase].wait(timeout)
                    rebuild_started[phase].wait(timeout)
                if i == at + 4:
                    rebuilt[phase].wait(timeout)
            ask(k, i)

    def rebuild() -> None:
        try:
            for phase in range(2):
                reached[phase].wait(timeout)
                edit(phase + 1)
                rebuild_started[phase].set()
                run = assistant(settings, "index", timeout=timeout)
                assert run.returncode == 0, run.stderr[-2000:]
                builds.append(current_build_id(settings.index_dir))
                rebuilt[phase].set()
        except BaseException as exc:
            failed.append(exc)
            for barrier in reached:  # the users stop waiting for a rebuild that will not come
                barrier.abort()
            for event in rebuild_started + rebuilt:
                event.set()

    builder = threading.Thread(target=rebuild)
    builder.start()
    try:
        with ThreadPoolExecutor(users) as pool:
            list(pool.map(user, range(users)))
    except threading.BrokenBarrierError:
        pass
    finally:
        builder.join()
    if failed:
        raise failed[0]
    return builds
