"""`drumbeat token create|list|revoke`: the bearer tokens of the HTTP API (/api/v1).

The commands hang on `bot.cli.token`, the group `bot.cli` registers; that module imports this
one last, once its helpers exist.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from bot.api.tokens import create_token, revoke_token
from bot.app import open_database
from bot.cli import Command, OrgOption, _org_key, _run, _settings, err, out, token
from rhythm.ports import ApiScope, ApiToken


def _when(moment: datetime | None, never: str = "never") -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC" if moment else never


@token.command("create", cls=Command)
def token_create(
    name: Annotated[
        str,
        typer.Option(
            help="Which system uses it (ci, warehouse): the source its values are shown with."
        ),
    ],
    scope: Annotated[
        ApiScope, typer.Option(help="read: read the OKRs; write: also push values.")
    ] = ApiScope.READ,
    org: OrgOption = None,
) -> None:
    """Make a token and print it, once: only its hash is kept."""
    settings = _settings()

    async def work() -> tuple[str, ApiToken]:
        async with open_database(settings) as store:
            key = await _org_key(store, org)
            return await create_token(store, key, name, scope, at=datetime.now(UTC))

    secret, made = _run(work)
    err.print(
        f"Token [bold]{made.name}[/bold] ({made.scope.value}) for {made.org}. It is shown this "
        "once: keep it in the system's secret store. Send it as `Authorization: Bearer …`.",
        highlight=False,
    )
    print(secret)  # alone on stdout: TOKEN=$(drumbeat token create ...) takes it as it is


@token.command("list", cls=Command)
def token_list(org: OrgOption = None) -> None:
    """The organisation's tokens: scope, when made, last used, revoked."""
    settings = _settings()

    async def work() -> tuple[str, list[ApiToken]]:
        async with open_database(settings) as store:
            key = await _org_key(store, org)
            return key, await store.api_tokens(key)

    key, tokens = _run(work)
    if not tokens:
        out.print(f"{key} has no API tokens: `drumbeat token create --name NAME` makes one.")
        return
    table = Table("Name", "Scope", "Created", "Last used", "Revoked", title=f"{key}'s API tokens")
    for t in tokens:
        table.add_row(
            t.name,
            t.scope.value,
            _when(t.created_at),
            _when(t.last_used_at),
            _when(t.revoked_at, never="—"),
        )
    out.print(table)


@token.command("revoke", cls=Command)
def token_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")], org: OrgOption = None
) -> None:
    """Revoke a token: its next request is refused (401)."""
    settings = _settings()
    now = datetime.now(UTC)

    async def work() -> ApiToken:
        async with open_database(settings) as store:
            return await revoke_token(store, await _org_key(store, org), name, at=now)

    revoked = _run(work)
    if revoked.revoked_at != now:
        out.print(f"{revoked.name} was revoked already, {_when(revoked.revoked_at)}.")
    else:
        out.print(f"Revoked {revoked.name} of {revoked.org}: its next request gets a 401.")
