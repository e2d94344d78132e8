"""The log pane: the newest lines of samples and events, repainted however many came before.

Textual's Log (8.x) drops the oldest lines beyond `max_lines` but then refreshes the rows where
the new lines would have been before the drop, past the end: once the pane holds `max_lines`
lines the screen stops showing new ones until a resize (about 42 minutes at 5 s). This pane
repaints what it shows whenever lines were dropped. And a Log scrolls to new lines only while it
is scrolled to its end, which a terminal made shorter leaves it not: the pane returns to the end
when resized.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

from textual.events import Resize
from textual.widgets import Log


class LogPane(Log):
    def write_lines(self, lines: Iterable[str], scroll_end: bool | None = None) -> Self:
        super().write_lines(lines, scroll_end)
        if self.max_lines is not None and self.line_count >= self.max_lines:
            self.refresh()  # the visible rows only: a handful of lines
        return self

    def on_resize(self, event: Resize) -> None:
        self.scroll_end(animate=False, immediate=True, x_axis=False)
