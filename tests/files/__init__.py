"""Tests mirroring viper_tui/files/ (README: Tests)."""
