"""Tests mirroring viper_tui/commands/ (README: Tests)."""
