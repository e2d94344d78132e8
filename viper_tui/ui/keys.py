"""Keys of one terminal read handled one after the other, as if typed slowly (README: the keys).

Textual's App forwards each key to the widget focused *when the App takes it from its queue*,
and a key's binding runs only once the key has bubbled back up to the App. The keys of one read
(`m a Enter` from a laggy SSH link or a paste without bracketed paste) are all forwarded before
the first has come back: `m` opens the mark dialog, but `a` and Enter were already sent to the
main screen (measured with Textual 8.2: `a` then reached the App's bindings, and Enter the
dialog's Input binding only, which saved the default note).

OrderedKeys holds a key until the one before it has been handled: it walked from the widget it
was sent to up to the App (a callback queued behind it at each level, which every message pump
runs in order), and then once more from the focused widget up (the messages its binding posted,
such as Input.Submitted, are handled). A character the focused widget takes (an Input's letter)
needs no binding and the next key follows it at once; so does a bracketed paste, which waits
for the keys before it like a key (`m` and a paste in one read: the text goes into the dialog).
While a dialog opens (until it says it is mounted and focused) or closes (until its result has
been handed over, which may open the next one), keys wait too. Nothing is dropped or reordered;
should a wait never end (a widget removed with our callback queued), the held keys go on after
HOLD_LIMIT seconds.

The cost: the screen may repaint between two keys of a burst, as it does for a slow typist
(benchmarks/bench_key_bursts.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from textual import events
from textual.app import App
from textual.dom import DOMNode, NoScreen
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.widget import Widget
from textual.timer import Timer

ReturnType = TypeVar("ReturnType")

HOLD_LIMIT = 3.0  # seconds held keys wait for a step that never comes before they go on (a loaded
# machine may take over a second to open a dialog: keys released early would go to the main screen)


class OrderedKeys(App[ReturnType]):
    """An App whose keys are handled one at a time; dialogs (screens.Modal) say when they are
    ready for keys (`keys_ready`, screen_ready) and when they close (screen_closing)."""

    def __init__(self) -> None:
        super().__init__()
        self._held: deque[events.Key | events.Paste] = deque()
        self._in_flight: events.Key | None = None
        self._dialogs_closing = 0  # dialogs dismissed whose result has not been handed over yet
        self._progress = 0
        self._watchdog: Timer | None = None
        self._at: MessagePump | None = None  # where the walk behind the key in flight is
        self._at_screen: Screen[Any] | None = None  # the screen that node is on
        self._then: Callable[[], None] | None = None

    # ---- what the dialogs say ---------------------------------------------------------------

    def screen_ready(self) -> None:
        """A dialog is mounted and focused (its `keys_ready` is now true): held keys go to it."""
        self._moved()

    def screen_closing(self) -> None:
        """A dialog is dismissed: keys wait until its result callback (queued just before) has run."""
        self._dialogs_closing += 1

        def closed() -> None:
            self._dialogs_closing = max(0, self._dialogs_closing - 1)
            self._moved()

        self.call_next(closed)

    # ---- the keys -----------------------------------------------------------------------------

    @property
    def keys_waiting(self) -> bool:
        """Whether a key now would go to the wrong place (the one before is not done)."""
        opening = getattr(self.screen, "keys_ready", True) is False  # a dialog not mounted yet
        return self._in_flight is not None or self._dialogs_closing > 0 or opening

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.Paste)) and not event.is_forwarded:
            self._held.append(event)
            await self._release()
            return
        await super().on_event(event)

    async def _release(self) -> None:
        """Send held keys, oldest first, while nothing is under way."""
        while self._held and not self.keys_waiting:
            await self._send(self._held.popleft())
        self._arm_watchdog()

    async def _send(self, key: events.Key | events.Paste) -> None:
        if isinstance(key, events.Paste):  # bracketed paste: text for the focused widget, no binding
            await super().on_event(key)
            return
        target: DOMNode = self.focused or self.screen
        typed = isinstance(target, Widget) and target.check_consume_key(key.key, key.character)
        await super().on_event(key)  # priority bindings, else forwarded to `target`
        if typed and key.is_forwarded:
            return  # a character an Input takes: the next key may follow it into the same queue
        self._in_flight = key
        if key.is_forwarded:
            self._follow(key, target, lambda: self._settle(key), own=True)
        else:
            self._settle(key)

    def _settle(self, key: events.Key) -> None:
        """Once more from the focused widget up: what the key's binding posted is handled too."""
        self._follow(key, self.focused or self.screen, lambda: self._done(key))

    def _done(self, key: events.Key) -> None:
        if self._in_flight is key:
            self._in_flight = None
            self._moved()

    def _follow(self, key: events.Key, node: MessagePump, then: Callable[[], None], own: bool = False) -> None:
        """Run `then` once every pump from `node` up to the App has handled what it had queued.

        `own`: the walk behind the key itself, which ends early where a widget stopped it (a
        screen's stop says nothing: Textual stops a key there that it still hands to the App).
        """
        self._at, self._then = node, then
        self._at_screen = _screen_of(node)

        def step() -> None:
            if self._in_flight is not key or self._at is not node:
                return  # given up on (HOLD_LIMIT), or its screen went and the walk went on
            if own and key._stop_propagation and isinstance(node, Widget) and not isinstance(node, Screen):
                self._done(key)  # a widget took it (a character into an Input): no binding ran
            else:
                self._climb(key, node, then, own)

        if not node.call_later(step):  # closed: its messages are gone, go on from its parent
            self._climb(key, node, then, own)

    def _climb(self, key: events.Key, node: MessagePump, then: Callable[[], None], own: bool) -> None:
        parent = node._parent
        if node is self or parent is None:
            self._at = self._at_screen = None
            then()
        else:
            self._follow(key, parent, then, own)

    def screen_removed(self, screen: Screen[Any]) -> None:
        """A dialog is gone, with the walk's callback perhaps in its queue: go on from the App."""
        key, then = self._in_flight, self._then
        if key is not None and then is not None and self._at is not None and self._at_screen is screen:
            self._follow(key, self, then)

    def _moved(self) -> None:
        self._progress += 1
        if self._held:
            self.call_later(self._release)

    def _arm_watchdog(self) -> None:
        if self._held and self._watchdog is None:
            self._watchdog = self.set_timer(HOLD_LIMIT, self._unstick(self._progress))

    def _unstick(self, progress: int) -> Callable[[], object]:
        async def check() -> None:
            self._watchdog = None
            if self._held and self._progress == progress:  # nothing moved for HOLD_LIMIT: go on
                self._in_flight = None
                self._dialogs_closing = 0
                setattr(self.screen, "keys_ready", True)
            await self._release()

        return check


def _screen_of(node: MessagePump) -> Screen[Any] | None:
    if isinstance(node, Screen):
        return node
    if isinstance(node, Widget):
        try:
            return node.screen
        except NoScreen:
            return None
    return None  # the App
