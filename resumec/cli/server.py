"""`resumec server start | stop | status`: the background converter service (see resumec.service)."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from resumec.cli.app import app
from resumec.errors import ResumecError
from resumec.settings import parse_seconds

SCHEMA_VERSION = 1  # resumec/schemas/server-status.json
# What a running service reports, as resumec/schemas/server-status.json documents it.
SERVICE_FIELDS = ("pid", "started", "uptime", "conversions", "builds", "active", "ready", "libreoffice", "identity",
                  "soffice_pid", "idle_timeout", "resumec")

server_app = typer.Typer(
    help="A background LibreOffice that later compiles use (~0.1 s a PDF instead of ~1.2 s).",
    no_args_is_help=True,
)
app.add_typer(server_app, name="server")


def _fail(exc: ResumecError) -> typer.Exit:
    from resumec.report import print_error

    print_error(exc)
    return typer.Exit(exc.exit_code)


@server_app.command("start")
def start_command(
    idle_timeout: Annotated[
        Optional[str],
        typer.Option(
            "--idle-timeout",
            metavar="SECONDS",
            help="Stop after this long without a request; 0 = never. Default: $RESUMEC_SERVER_IDLE, else 600.",
            show_default=False,
        ),
    ] = None,
    foreground: Annotated[
        bool, typer.Option("--foreground", help="Run in this process (for systemd, or to watch its log).")
    ] = False,
) -> None:
    """Start the converter service in the background (exit 0 also when already running)."""
    from resumec.service import daemon
    from resumec.settings import Settings

    settings = Settings.from_env()
    try:
        idle = settings.server_idle if idle_timeout is None else parse_seconds("--idle-timeout", idle_timeout)
        if foreground:
            from resumec.service.server import serve

            code = serve(settings, idle_timeout=idle, log=lambda line: print(line, file=sys.stderr, flush=True))
            raise typer.Exit(code)
        info = daemon.start(settings, idle_timeout=idle)
    except ResumecError as exc:
        raise _fail(exc) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    state = "already running" if info.get("already") else "started"
    idle = info.get("idle_timeout") or 0
    typer.echo(
        f"converter service {state} (pid {info['pid']}, socket {info['socket']}, "
        f"idle timeout {_duration(idle) if idle else 'never'})",
        err=True,
    )


@server_app.command("stop")
def stop_command() -> None:
    """Stop the converter service (exit 0 also when it was not running)."""
    from resumec.service import daemon
    from resumec.settings import Settings

    try:
        pid = daemon.stop(Settings.from_env())
    except ResumecError as exc:
        raise _fail(exc) from None
    typer.echo("converter service not running" if pid is None else f"converter service stopped (pid {pid})", err=True)


@server_app.command("status")
def status_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON on stdout "
                                                   "(resumec/schemas/server-status.json).")] = False,
) -> None:
    """Show the converter service: exit 0 when it is running, 1 when not."""
    from resumec.report import json_text
    from resumec.service import daemon
    from resumec.settings import Settings

    settings = Settings.from_env()
    try:
        info = daemon.status(settings)
        location = str(daemon.socket_path(settings))
    except ResumecError as exc:
        raise _fail(exc) from None
    if as_json:
        report = {"schema_version": SCHEMA_VERSION, "running": info is not None, "socket": location}
        report.update({key: info[key] for key in SERVICE_FIELDS if key in info} if info else {})
        typer.echo(json_text(report))
        raise typer.Exit(0 if info else 1)
    if info is None:
        typer.echo(f"converter service not running (socket {location})", err=True)
        raise typer.Exit(1)
    idle = info.get("idle_timeout") or 0
    rows = [
        ("pid", str(info["pid"])),
        ("socket", info["socket"]),
        ("uptime", _duration(info["uptime"])),
        ("conversions", str(info["conversions"]) + (f" ({info['builds']} built here too)" if info.get("builds")
                                                     else "")),
        ("libreoffice", info["libreoffice"] + ("" if info.get("ready") else " (starting)")),
        ("idle timeout", _duration(idle) if idle else "never"),
    ]
    typer.echo("converter service running")
    for name, value in rows:
        typer.echo(f"  {name:<13}{value}")


def _duration(seconds: float) -> str:
    """3 s, 10 min, 4 min 12 s, 2 h 5 min."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min" + (f" {seconds} s" if seconds else "")
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h" + (f" {minutes} min" if minutes else "")
