"""``python -m botkit`` is the ``botkit`` command."""

import sys

from .cli._main import main

sys.exit(main())
