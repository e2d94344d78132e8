"""VIPER's tests: folders mirror the package (README: Tests); shared helpers in helpers.py."""
