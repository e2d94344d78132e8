"""Tests mirroring viper_tui/protocol/ (README: Tests)."""
