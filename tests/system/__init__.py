"""Whole-program tests against the world outside the package: tmux, systemd, the Nix flake."""
