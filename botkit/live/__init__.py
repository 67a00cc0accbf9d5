"""Live trading: keys, the venue's trading connection, the live broker (IO layer above
``protocol`` and ``execution``)."""
