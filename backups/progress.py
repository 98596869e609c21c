"""A small text progress bar for the backup commands, drawn on stderr only when it is a TTY."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class ProgressBar:
    """Rows done out of a total, redrawn at most a few times a second."""

    WIDTH = 30

    def __init__(self, label: str, total: int, stream: TextIO) -> None:
        self.label, self.total, self.stream = label, max(total, 1), stream
        self.done = 0
        self._drawn_at = 0.0

    def __call__(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if now - self._drawn_at >= 0.2 or self.done >= self.total:
            self._drawn_at = now
            share = min(self.done / self.total, 1.0)
            bar = "#" * int(share * self.WIDTH)
            self.stream.write(
                f"\r{self.label} [{bar:<{self.WIDTH}}] {share:4.0%} {self.done:,}/{self.total:,}"
            )
            self.stream.flush()

    def close(self) -> None:
        if self._drawn_at:
            self.stream.write("\n")
            self.stream.flush()


class Bars:
    """A progress factory for ``backups.service`` that closes the bars it made."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.bars: list[ProgressBar] = []

    def factory(self) -> Callable[[str, int], Callable[[int], None]] | None:
        if not self.enabled:
            return None

        def make(label: str, total: int) -> ProgressBar:
            bar = ProgressBar(label, total, self.stream)
            self.bars.append(bar)
            return bar

        return make

    def close(self) -> None:
        for bar in self.bars:
            bar.close()
        self.bars.clear()
