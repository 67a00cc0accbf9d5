"""``python -m botkit`` is the ``botkit`` command."""

import sys

from ._cli import main

sys.exit(main())
