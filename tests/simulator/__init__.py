"""Tests mirroring viper_tui/simulator/ (README: Tests)."""
