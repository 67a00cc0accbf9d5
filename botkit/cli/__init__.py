"""The ``botkit`` command line: flags in, a run configuration to the builder, output out.

The library never imports this package.
"""

from ._main import main

__all__ = ["main"]
