"""People's own settings: the defaults until they choose, then what they chose."""

from __future__ import annotations

import pytest

from rhythm.records import PersonSettings
from storage.store import SqlStore
from tests.storage.builders import ANA, BEN, CAI, acme


@pytest.fixture
async def acme_store(store: SqlStore) -> SqlStore:
    await store.save_organisation(acme())
    return store


async def test_settings_default_until_chosen_and_are_upserted(acme_store: SqlStore) -> None:
    assert await acme_store.person_settings("acme", [ANA, BEN]) == {
        ANA: PersonSettings(), BEN: PersonSettings(),
    }  # fmt: skip
    assert await acme_store.person_settings("acme", []) == {}

    await acme_store.save_person_settings("acme", BEN, PersonSettings(missing_list=False))
    await acme_store.save_person_settings("acme", CAI, PersonSettings(missing_list=False))
    await acme_store.save_person_settings("acme", CAI, PersonSettings(missing_list=True))

    assert await acme_store.person_settings("acme", [ANA, BEN, CAI, BEN]) == {
        ANA: PersonSettings(),
        BEN: PersonSettings(missing_list=False),
        CAI: PersonSettings(missing_list=True),
    }
    await acme_store.save_organisation(acme("other"))
    assert await acme_store.person_settings("other", [BEN]) == {BEN: PersonSettings()}
