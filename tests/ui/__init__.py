"""Tests mirroring viper_tui/ui/ (README: Tests)."""
