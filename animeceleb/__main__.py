"""``python -m animeceleb``: the command-line interface."""

from animeceleb.cli import main

raise SystemExit(main())
