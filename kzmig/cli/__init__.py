"""The ``kzmig`` command line: parse, call a library study, save, print. It holds no statistics.

:func:`main` is the console entry point; it applies the error policy of
:mod:`kzmig.cli._common` to every command.
"""
from __future__ import annotations

import sys

import typer
from typer.exceptions import TyperException

from kzmig.cli import assess as _assess
from kzmig.cli import config as _config
from kzmig.cli import data as _data
from kzmig.cli import predict as _predict
from kzmig.cli import studies as _studies
from kzmig.cli._common import err_console, report_internal, setup_logging
from kzmig.core.errors import EXIT_INTERNAL, EXIT_USER, KzmigError

app = typer.Typer(
    help="kzmig: regional migration econometrics and forecasting for Kazakhstan.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(_data.app, name="data")
app.add_typer(_config.app, name="config")
app.command("assess")(_assess.assess)
app.command("regress")(_studies.regress)
app.command("forecast")(_studies.forecast)
app.command("run")(_studies.run)
app.command("predict")(_predict.predict)


@app.callback()
def _root(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
          debug: bool = typer.Option(False, "--debug", help="Print the traceback of an internal error.")) -> None:
    """Set up logging for every command."""
    setup_logging(verbose, debug)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return (and, as a script, exit with) its status.

    0 success; 2 a user error (bad option, config or data; a study that cannot give a
    result), with a message naming the file, key, column, region or year; 1 an internal
    error, with one line and the traceback in a log file.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    try:
        code = app(args=args, prog_name="kzmig", standalone_mode=False)
        return int(code or 0)
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        err_console().print("aborted", markup=False)
        return 130
    except TyperException as exc:  # a usage error: bad option or argument (typer prints it)
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            err_console().print(f"error: {exc.format_message()}", markup=False)
        return int(exc.exit_code)
    except KzmigError as exc:
        err_console().print(f"error: {exc}", markup=False)
        return EXIT_USER
    except Exception as exc:  # noqa: BLE001 - the one place that turns any failure into exit 1
        log = report_internal(exc)
        line = str(exc).splitlines()[0] if str(exc) else ""
        err_console().print(f"internal error: {type(exc).__name__}: {line} (traceback in {log})", markup=False)
        if debug:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        return EXIT_INTERNAL


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
