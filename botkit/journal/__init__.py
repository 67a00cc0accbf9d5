"""The journal: everything a run does, in one SQLite file, so a run killed at any moment
restarts with nothing lost and nothing done twice (see docs/journal.md)."""

from ._journal import Journal, JournalStats
from ._reader import JournalContents, open_for_reading, read_journal
from ._schema import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Journal", "JournalContents", "JournalStats", "open_for_reading", "read_journal"]
