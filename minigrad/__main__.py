"""``python -m minigrad train`` / ``python -m minigrad evaluate``: see ``minigrad.cli``."""

from minigrad.cli import main

raise SystemExit(main())
