"""``python -m botkit``: the ``botkit`` command."""

from .cli import main

raise SystemExit(main())
