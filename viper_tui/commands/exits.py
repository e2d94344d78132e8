"""Exit codes and the usage error, the same for every command (README: Exit codes).

0 done, 1 anything else (port unusable, disk full during a run), 2 bad usage, config or file.
"""

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad input: reported as one line, exit 2."""
