"""SIGINT and SIGTERM: the first asks for a clean stop, a second one exits at once.

Outside a crawl's run loop the first signal raises :class:`Interrupted` (a ``KeyboardInterrupt``, so no
``except Exception`` swallows it) and the command ends with one line. Inside the run loop it only sets
an event: the loop, which never blocks for long, stops the run cleanly (nothing is raised in the middle
of a commit). A second signal while stopping writes one line and ends the process with ``os._exit``:
SQLite's journal keeps the store whole, and the next crawl resumes the run.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal number (130 for SIGINT, 143 for SIGTERM)."""
    return 128 + signum


class Shutdown:
    def __init__(self) -> None:
        self.requested = threading.Event()
        self.signum: int | None = None
        self._raise = True
        self._previous: dict[int, Any] = {}

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    def install(self) -> bool:
        """Handle SIGINT and SIGTERM (only possible from the main thread; False elsewhere)."""
        if threading.current_thread() is not threading.main_thread():
            return False
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return True

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    @contextmanager
    def deferred(self) -> Iterator[threading.Event]:
        """While inside, a first signal only sets the event the caller watches."""
        if self.signum is not None:
            raise Interrupted(self.signum)
        self._raise = False
        try:
            yield self.requested
        finally:
            self._raise = True

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            name = signal.Signals(signum).name
            start = "\r\033[K" if os.isatty(2) else ""  # over a progress bar, not below it
            os.write(2, f"{start}harvester: {name} again: exiting at once (the next crawl resumes the run)\n".encode())
            os._exit(exit_code(signum))
        self.signum = signum
        self.requested.set()
        if self._raise:
            raise Interrupted(signum)
