"""Which adapter and flow tests run on both databases.

Every repository test runs on SQLite and PostgreSQL (tests/storage: the contract). Up here, a
test of a flow or an adapter exercises the very same repository code again; on a second
backend it would only double the suite's time. So these modules run on SQLite alone, and
what is about several processes or replicas sharing one database (claims, leases, locks,
races, a shared Slack installation store) keeps running on both.
"""

from __future__ import annotations

import pytest

SQLITE_ONLY = frozenset({
    "tests/bot/test_flow.py",
    "tests/bot/test_chat_service.py",
    "tests/bot/test_chat_commands.py",
    "tests/bot/test_commands.py",
    "tests/bot/test_chart_links.py",
    "tests/bot/test_submit_anything.py",
    "tests/bot/test_checked_in_zone.py",
    "tests/bot/slack/test_app_http.py",
    "tests/bot/slack/test_picker_http.py",
    "tests/bot/teams/test_bot.py",
    "tests/bot/teams/test_auth.py",
    "tests/bot/teams/test_chart_sources.py",
    "tests/bot/teams/test_invoke.py",
    "tests/bot/teams/test_issue12_flows.py",
    "tests/bot/api/test_reads.py",
    "tests/bot/api/test_values.py",
})  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    dropped = [i for i in items if i.nodeid.split("::")[0] in SQLITE_ONLY and _on_postgresql(i)]
    if dropped:
        gone = set(map(id, dropped))
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if id(i) not in gone]


def _on_postgresql(item: pytest.Item) -> bool:
    params = getattr(item, "callspec", None)
    return params is not None and params.params.get("backend") == "postgresql"
