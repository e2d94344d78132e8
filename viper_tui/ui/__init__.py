"""The Textual front ends: the monitor (app) and the viewer, sibling apps on one base (base), their
screens, widgets, history, theme (viper.tcss) and the web server for `viper view --web`. The only
place that imports textual.
"""

from .app import ViperApp
from .base import MonitorInfo

__all__ = ["MonitorInfo", "ViperApp"]
