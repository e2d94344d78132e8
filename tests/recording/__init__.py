"""Tests mirroring viper_tui/recording/ (README: Tests)."""
