"""What the compiler is doing, for ``symdiff grad --verbose`` and for a progress line on a terminal.

The pipeline marks its stages with :func:`stage` (``with stage("rewrite"): ...``); nothing is recorded
unless a :class:`Listener` is installed (:func:`listening`), so the decorator pays one context-variable
read per stage. A listener keeps each stage's total time and count, and can show a progress line once
a compilation has run longer than ``after`` seconds (the CLI does when stderr is a terminal).
"""
from __future__ import annotations

import contextlib
import contextvars
import time
from dataclasses import dataclass, field
from typing import IO, Iterator

_LISTENER: contextvars.ContextVar["Listener | None"] = contextvars.ContextVar("symdiff_progress", default=None)


@dataclass
class Listener:
    """Times of the stages (in the order first seen) and, with ``stream``, a progress line after ``after`` s."""

    stream: IO[str] | None = None
    after: float = 2.0
    start: float = field(default_factory=time.perf_counter)
    times: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    shown: bool = False

    def enter(self, name: str) -> None:
        elapsed = time.perf_counter() - self.start
        if self.stream is not None and elapsed >= self.after:
            count = self.counts.get(name, 0) + 1
            self.stream.write(f"\rsymdiff: {name} ({count}), {elapsed:.1f} s\033[K")
            self.stream.flush()
            self.shown = True

    def leave(self, name: str, seconds: float) -> None:
        self.times[name] = self.times.get(name, 0.0) + seconds
        self.counts[name] = self.counts.get(name, 0) + 1

    def finish(self) -> None:
        """End the progress line (if one was shown), so what follows starts on a line of its own."""
        if self.shown and self.stream is not None:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False

    def table(self) -> str:
        """One line per stage: its total time, and how often it ran."""
        total = time.perf_counter() - self.start
        lines = [f"  {name:<14} {seconds * 1000:9.1f} ms  x{self.counts[name]}" for name, seconds in self.times.items()]
        other = total - sum(self.times.values())
        return "\n".join(["stages:", *lines, f"  {'other':<14} {other * 1000:9.1f} ms  (imports, caches, checks)",
                          f"  {'total':<14} {total * 1000:9.1f} ms"])


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Mark a stage of the compiler (see the module docstring)."""
    listener = _LISTENER.get()
    if listener is None:
        yield
        return
    listener.enter(name)
    begin = time.perf_counter()
    try:
        yield
    finally:
        listener.leave(name, time.perf_counter() - begin)


@contextlib.contextmanager
def listening(listener: Listener) -> Iterator[Listener]:
    token = _LISTENER.set(listener)
    try:
        yield listener
    finally:
        _LISTENER.reset(token)
        listener.finish()
