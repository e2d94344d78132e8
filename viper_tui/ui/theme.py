"""The colour theme: VIPER_THEME if set, else one the terminal can show; checked before a run starts."""

from __future__ import annotations

import os

from textual.theme import BUILTIN_THEMES

from ..text import terminal_safe


def theme_names() -> list[str]:
    return sorted(BUILTIN_THEMES)


def theme_problem() -> str | None:
    """Why VIPER_THEME cannot be used, as one line, or None.

    Checked by the commands before any file is opened: a bad name used to surface as a
    traceback once the app started, after an empty run had been written to the file.
    """
    chosen = os.environ.get("VIPER_THEME")
    if not chosen or chosen in BUILTIN_THEMES:
        return None
    return f"VIPER_THEME: {terminal_safe(chosen)!r} is not a theme; one of: {', '.join(theme_names())}"


def pick_theme() -> str:
    """ANSI colours on terminals that do not announce 256 colours (linux console, plain xterm)."""
    chosen = os.environ.get("VIPER_THEME")
    if chosen:
        return chosen
    term = os.environ.get("TERM", "")
    if os.environ.get("COLORTERM") or "256" in term or "direct" in term:
        return "textual-dark"
    return "ansi-dark"
