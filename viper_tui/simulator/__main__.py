"""`python -m viper_tui.simulator`: the same as the `viper-sim` console script."""

from .cli import main

raise SystemExit(main())
