"""The Typer application, and commands whose options come from the one option table.

Commands live in sibling modules (one per command family) and register
themselves on `app`; each imports its heavy dependencies inside the function,
so `resumec --help` stays fast.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Optional

import typer
import typer.core

from resumec.options import Opt

EXIT_CODES = """\b
Exit codes:
  0    success
  1    invalid input (JSON or YAML syntax, schema, theme)
  2    usage error (bad option or value, unknown section name)
  3    PDF conversion failed, or LibreOffice missing (DOCX, HTML, Markdown and text are still written)
  4    I/O error: an output could not be written
  130  interrupted (Ctrl-C); 143 terminated (SIGTERM); nothing half-written is left
"""


def _plain_arguments(command: Any) -> None:
    """Show positional arguments by their placeholder alone (INPUT, NAME, FILE).

    Typer 0.2x appends the Python type to an argument's help (`INPUT <list[str]>`)
    even when it has a metavar; older versions do not. Each click parameter's
    `display_type_rich` is looked up on the instance first, so this quiets it
    for our own commands only.
    """
    for param in getattr(command, "params", ()):
        if getattr(param, "param_type_name", "") == "argument":
            param.display_type_rich = lambda ctx=None: None
    for sub in getattr(command, "commands", {}).values():
        _plain_arguments(sub)


class _Group(typer.core.TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_arguments(self)


app = typer.Typer(
    name="resumec",
    cls=_Group,
    help="Compile a JSON Resume into a Word document and a PDF.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from resumec import __version__

        typer.echo(f"resumec {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Compile a JSON Resume into a Word document and a PDF."""


def complete_choices(opt: Opt, incomplete: str) -> list[str]:
    """The values of `opt` that start with what is typed and that its parser accepts.

    A LIST option completes its last comma-separated item, offering only items
    that still make a valid list (not one already given, not `all` inside a list
    of formats): completion never suggests what `Options.from_raw` would refuse.
    """
    from resumec.errors import UsageError

    choices = list(opt.choices()) if opt.choices else []
    if opt.metavar == "LIST":
        head, comma, last = incomplete.rpartition(",")
        given = {item.partition("=")[0].strip() for item in head.split(",")} if comma else set()
        candidates = [head + comma + c for c in choices if c.startswith(last) and c not in given]
    else:
        candidates = [c for c in choices if c.startswith(incomplete)]
    accepted = []
    for candidate in candidates:
        try:
            opt.parse(opt.flags[-1], candidate)
        except UsageError:
            continue
        accepted.append(candidate)
    return accepted


def _completer(opt: Opt) -> Callable[[str], list[str]]:
    def complete(incomplete: str) -> list[str]:
        return complete_choices(opt, incomplete)

    return complete


def complete_theme(incomplete: str) -> list[str]:
    """Built-in theme names, for options that take one (`theme new --from`)."""
    from resumec.theme import builtin_themes

    return [name for name, _ in builtin_themes() if name.startswith(incomplete)]


def _parameter(opt: Opt) -> inspect.Parameter:
    if opt.is_flag:
        info = typer.Option(*opt.flags, help=opt.help, show_default=False)
        return inspect.Parameter(opt.name, inspect.Parameter.KEYWORD_ONLY, default=False,
                                 annotation=Annotated[bool, info])
    info = typer.Option(*opt.flags, help=opt.help, metavar=opt.metavar, show_default=False,
                        autocompletion=_completer(opt) if opt.choices else None)
    return inspect.Parameter(opt.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[Optional[str], info])


def table_command(name: str, options: Sequence[Opt], leading: Sequence[inspect.Parameter], **settings: Any):
    """Register `func(raw=..., **leading)` as a Typer command taking the table's options.

    Typer sees every value option as a plain string and every flag as a bool;
    `func` gets them back as the raw dict the quick parser would have built, so
    one function (`Options.from_raw`) checks them for both parsers.
    """

    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        names = [opt.name for opt in options]

        def command(**values: Any) -> Any:
            raw = {opt.name: values[opt.name] for opt in options if values[opt.name] not in (None, False)}
            return func(raw=raw, **{key: value for key, value in values.items() if key not in names})

        signature = inspect.Signature([*leading, *map(_parameter, options)])
        command.__signature__ = signature  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
        command.__doc__ = func.__doc__
        command.__name__ = func.__name__
        app.command(name, **settings)(command)
        return func

    return register


def inputs_parameter(help: str) -> inspect.Parameter:
    return inspect.Parameter(
        "inputs", inspect.Parameter.POSITIONAL_OR_KEYWORD,
        annotation=Annotated[list[str], typer.Argument(help=help, metavar="INPUT", show_default=False)],
    )
