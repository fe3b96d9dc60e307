"""A progress bar for long CLI work: on stderr, counts and rate, shown only when stderr is a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text


class RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f} entries/s" if task.speed else "")


@contextmanager
def progress_bar(console: Console, label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """Yields ``done(n)``: n entries are done so far. ``total`` None draws a bar without an end."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), RateColumn(),
                  TimeElapsedColumn(), console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.update(task, completed=n)
