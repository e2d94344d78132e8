"""Where a screenshot goes: next to the data file, else the current folder; never ~/Downloads."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


def screenshot_path(h5file: Path | None, when: datetime | None = None) -> Path:
    """`<data file's folder>/<its stem>-screenshot-YYYYMMDD-HHMMSS-mmm.svg` (local time).

    Next to the data file, so the picture of a run is found with the run; a server has no
    ~/Downloads (Textual's default). Without a data file (store_data = false): the current folder.
    The milliseconds keep two screenshots taken in one second apart.
    """
    stamp = (when or datetime.now()).strftime("%Y%m%d-%H%M%S-%f")[:-3]
    folder = h5file.parent if h5file is not None else Path.cwd()
    stem = h5file.stem if h5file is not None else "viper"
    return folder / f"{stem}-screenshot-{stamp}.svg"
