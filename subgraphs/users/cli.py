"""The users domain's commands, mounted by `coursegraph` (tooling/cli.py, through domains.cli_commands)."""

from __future__ import annotations

import typer

from subgraphs.core.settings import get_settings

# `coursegraph keys ...`
COMMANDS = {"keys": typer.Typer(help="Token signing keys.", no_args_is_help=True)}


@COMMANDS["keys"].command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; it signs from now on, older keys keep verifying until they are dropped."""
    from subgraphs.users.keys import rotate_keys

    kid = rotate_keys(get_settings().auth.signing_keys_file)
    typer.echo(f"new signing key {kid}")
