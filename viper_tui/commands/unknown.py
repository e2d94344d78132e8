"""Unknown sections and keys in the config files (config_keys.py): warned about, or refused."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ..config import ConfigError

STRICT_NOTE = "strict: unknown sections and keys are errors (--strict or [Logging] strict = true)"


def check_unknown(lines: Sequence[str], strict: bool, prog: str = "viper") -> None:
    """One warning line each on stderr; with `strict`, the first is a ConfigError (exit 2).

    Warned rather than refused by default: the earlier tool's files must keep working, and a key
    a newer VIPER reads must not stop an older one from recording.
    """
    if strict and lines:
        raise ConfigError(f"{lines[0]}; {STRICT_NOTE}")
    for line in lines:
        try:
            print(f"{prog}: warning: {line}", file=sys.stderr, flush=True)
        except OSError:
            pass  # a closed stderr is no reason not to record
