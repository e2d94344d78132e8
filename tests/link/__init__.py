"""Tests mirroring viper_tui/link/ (README: Tests)."""
