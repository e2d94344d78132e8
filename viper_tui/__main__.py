"""`python -m viper_tui` is the `viper` command."""

import sys

from .cli import main

sys.exit(main())
