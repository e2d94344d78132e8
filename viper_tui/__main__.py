"""`python -m viper_tui` is the `viper` command."""

import sys

from .commands.record import main

sys.exit(main())
