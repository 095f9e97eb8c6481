"""Build progress on stderr: one spinner line per phase, showing the installer's latest output line."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape


def default_console() -> Console:
    return Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR")), highlight=False)


class BuildProgress:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or default_console()
        self._status: Any = None
        self._text = ""

    def say(self, text: str) -> None:
        self.console.print(escape(text), highlight=False)

    @contextmanager
    def phase(self, text: str) -> Iterator[None]:
        self._text = text
        t0 = time.monotonic()
        with self.console.status(escape(text) + " ...") as status:
            self._status = status
            try:
                yield
            finally:
                self._status = None
        self.console.print(f"  [green]✓[/] {escape(text)} [dim]({time.monotonic() - t0:.1f} s)[/]", highlight=False)

    def update(self, line: str) -> None:
        """Show the latest output line of the running step beside the phase text."""
        if self._status is not None and line.strip():
            short = line.strip()
            if len(short) > 90:
                short = short[:87] + "..."
            self._status.update(f"{escape(self._text)} ... [dim]{escape(short)}[/]")
