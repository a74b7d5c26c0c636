"""The labs domain's commands, mounted by `coursegraph` (tooling/cli.py, through domains.cli_commands)."""

from __future__ import annotations

import time

import typer

# `coursegraph labs ...`
COMMANDS = {"labs": typer.Typer(help="Lab environments: their Docker images.", no_args_is_help=True)}


@COMMANDS["labs"].command("build-images")
def build_images_command(
    only: str = typer.Option("", help="Comma-separated images (default: all): jupyter, terminal, vscode."),
    rebuild: bool = typer.Option(False, help="Build even when an image of the same recipe exists."),
) -> None:
    """Build the Docker lab images without a registry: a Debian root filesystem (mmdebstrap or debootstrap)
    imported into Docker, the IDEs installed on it from PyPI, each image health-checked on its IDE's real
    endpoint before it gets the tag the templates name. Images of an unchanged recipe are kept
    (docs/domains/labs.md)."""
    import docker
    import docker.errors

    from subgraphs.labs.images import IMAGES, Builder, BuildFailed

    keys = [k.strip() for k in only.split(",") if k.strip()] or [r.key for r in IMAGES]
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except docker.errors.DockerException as exc:
        typer.echo(f"no Docker engine answers: {exc}", err=True)
        raise typer.Exit(1) from exc
    started = time.monotonic()
    try:
        tags = Builder(client, say=typer.echo, rebuild=rebuild).build(keys)
    except BuildFailed as exc:
        typer.echo(f"build failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    finally:
        client.close()
    typer.echo(f"lab images ready in {time.monotonic() - started:.0f} s: {', '.join(tags.values())}")
