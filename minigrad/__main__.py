"""``python -m minigrad train`` / ``evaluate`` / ``gpt``: see ``minigrad.cli``."""

from minigrad.cli import main

raise SystemExit(main())
