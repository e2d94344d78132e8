"""The full-screen Textual monitor."""

from .app import MonitorInfo, ViperApp

__all__ = ["MonitorInfo", "ViperApp"]
