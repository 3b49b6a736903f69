"""Series: each key result's reported values over a cycle, and how teams kept their rituals."""

from __future__ import annotations

from storage.db import Repository


class SqlSeriesRepository(Repository):
    """Implements `rhythm.ports.SeriesRepository`."""
