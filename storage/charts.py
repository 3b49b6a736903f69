"""Charts kept for their links: PNG bytes with an expiry, and the key that signs the links."""

from __future__ import annotations

from storage.db import Repository


class SqlChartRepository(Repository):
    """Implements `rhythm.ports.ChartRepository`."""
