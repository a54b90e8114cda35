"""The ``no_sql_on_loop`` rule itself (tests/conftest.py): it sees a core that holds the loop, and
only that (this module does not run under the fixture: it makes the core break the rule on purpose)."""

from __future__ import annotations

import pytest

from bot.app import Momentum


async def test_the_no_sql_on_loop_rule_sees_a_core_that_holds_the_loop(
        momentum: Momentum, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture's rule, checked both ways: the core as it is runs no SQL on the loop; the same
    interaction with units of work run inline (the old way) is caught, and the test's own SQL is not."""
    from bot.model.interactions import Interaction, InteractionKind, Profile
    from tests.conftest import sql_on_loop

    ia = Interaction("test", "T1", "U1", InteractionKind.COMMAND, text="me", profile=Profile(external_id="U1"))
    with sql_on_loop() as found:
        await momentum.handle(ia)
        momentum.units.upsert_workspace("test", "T2")  # the test's own SQL, from its async body
    assert found == []

    async def inline(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        return fn(*args, **kwargs)

    monkeypatch.setattr(momentum.db, "run", inline)
    with sql_on_loop() as found:
        await momentum.handle(ia)
    assert any("bot/chat/entry.py" in f for f in found), found
