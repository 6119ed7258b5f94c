"""What every command shares: the error policy, logging, progress display and run folders.

Warnings of a run: every WARNING record (the library's ``logger.warning`` and Python's
``warnings.warn``, captured into logging) is written to the run's ``run.log``; the console
shows none while the run works and, at the end, one line per kind with its count
(:class:`WarningSummary`; a kind is the logger and the message's template).

Error policy: a :class:`~kzmig.core.errors.KzmigError` (bad config, bad data, a study that
cannot give a result) prints ``error: <message>`` and exits 2; anything else is an internal
error: exit 1, one line naming the log that holds the traceback (``--debug`` prints it too).
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import sys
import tempfile
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kzmig.core.errors import KzmigError
from kzmig.core.runs import RunFolder

logger = logging.getLogger("kzmig")

#: set by the ``--debug`` option of the app callback; ``console``: the console's log handler
STATE: dict = {"debug": False, "console": None, "logged": frozenset()}
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def err_console() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


def out_console() -> Console:
    return Console(soft_wrap=True, highlight=False)


@contextlib.contextmanager
def progress_display(console: Console | None = None) -> Iterator:
    """A ``progress(step, done, total)`` callback: rich bars in a terminal, one line per event in a pipe."""
    console = console or err_console()
    if not console.is_terminal:
        def plain(step: str, done: int, total: int) -> None:
            if done > 0:
                console.print(f"{step}: {done}/{total}", markup=False)
        yield plain
        return
    bars: dict[str, int] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=False) as bar:
        def rich_progress(step: str, done: int, total: int) -> None:
            if step not in bars:
                bars[step] = bar.add_task(step, total=max(total, 1))
            bar.update(bars[step], completed=done, total=max(total, 1))
        yield rich_progress


#: width of a warning's text in the console summary (the whole message is in run.log)
SUMMARY_WIDTH = 160


@dataclass
class _Kind:
    level: str
    logger: str
    first: str
    count: int = 0
    texts: set = field(default_factory=set)


class WarningSummary(logging.Handler):
    """Counts WARNING records by kind; :meth:`lines` gives one line per kind with its count.

    A kind is the record's logger and its message template (``record.msg`` before the ``%``
    arguments are put in), so ``"%s: %d of %d rows dropped"`` from three models is one kind;
    a message formatted before logging (an f-string) is its own template. A Python warning
    (``py.warnings``) is its category, place and text. Errors are not summarised (the console
    shows them at once). A forked worker process (the local backtest pool) inherits the
    handler: its records are appended to ``spool`` (one JSON line each) and counted by
    :meth:`collect` in the parent.
    """

    def __init__(self, spool: Path | None = None) -> None:
        super().__init__(logging.WARNING)
        self.kinds: dict[tuple[str, str], _Kind] = {}
        self.pid = os.getpid()
        self.spool = spool

    def _count(self, level: str, name: str, template: str, text: str) -> None:
        kind = self.kinds.setdefault((name, template), _Kind(level, name, text))
        kind.count += 1
        kind.texts.add(text)

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            return
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is still counted, by its template
            text = str(record.msg)
        template = str(record.msg) if record.args else text
        if os.getpid() == self.pid:
            self._count(record.levelname, record.name, template, text)
        elif self.spool is not None:  # a forked worker: one line, appended in one write
            line = json.dumps({"level": record.levelname, "name": record.name, "template": template, "text": text})
            with open(self.spool, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    def collect(self) -> None:
        """Count the records the worker processes appended to the spool (then empty it)."""
        if self.spool is None or not Path(self.spool).exists():
            return
        for line in Path(self.spool).read_text(encoding="utf-8").splitlines():
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                continue
            self._count(d["level"], d["name"], d["template"], d["text"])
        Path(self.spool).write_text("", encoding="utf-8")

    @property
    def total(self) -> int:
        return sum(k.count for k in self.kinds.values())

    def lines(self, width: int = SUMMARY_WIDTH) -> list[str]:
        """``<LEVEL> <logger>: <first message, first line, cut to width> (x<count>[, <n> variants])``,
        most frequent kind first (then in the order first seen)."""
        out = []
        for kind in sorted(self.kinds.values(), key=lambda k: -k.count):  # stable: ties keep their order
            text = " ".join(kind.first.split()) if kind.logger != "py.warnings" else kind.first.strip().splitlines()[0]
            if len(text) > width:
                text = text[:width - 3].rstrip() + "..."
            more = f", {len(kind.texts)} variants" if len(kind.texts) > 1 else ""
            out.append(f"{kind.level} {kind.logger}: {text} (x{kind.count}{more})")
        return out


class _HoldWarnings(logging.Filter):
    """On the console handler during a run: WARNING records wait for the summary (errors pass)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (logging.WARNING <= record.levelno < logging.ERROR)


@contextlib.contextmanager
def summarised_warnings(log: Path | None = None, failed_log: Path | None = None) -> Iterator[WarningSummary]:
    """Hold warnings back from the console, count them by kind, and print the summary at the end.

    Python warnings are routed into logging (``py.warnings``) for the duration, so they reach
    ``run.log`` and the count too. On exit (also after an error) the console gets
    ``<n> warnings of <k> kinds (all in <log>):`` and one line per kind; ``failed_log`` is the
    log named when the block raised (a failed run folder is renamed).
    """
    fd, spool = tempfile.mkstemp(prefix="kzmig-warnings-", suffix=".jsonl")
    os.close(fd)
    summary = WarningSummary(Path(spool))
    hold = _HoldWarnings()
    console = STATE.get("console")
    root = logging.getLogger()
    root.addHandler(summary)
    if console is not None:
        console.addFilter(hold)
    captured = getattr(logging, "_warnings_showwarning", None) is not None
    with warnings.catch_warnings():
        logging.captureWarnings(True)
        failed = False
        try:
            yield summary
        except BaseException:
            failed = True
            raise
        finally:
            if not captured:
                logging.captureWarnings(False)
            root.removeHandler(summary)
            if console is not None:
                console.removeFilter(hold)
            summary.collect()
            Path(spool).unlink(missing_ok=True)
            STATE["logged"] = frozenset(t for k in summary.kinds.values() for t in k.texts)
            if summary.total:
                shown = failed_log if failed and failed_log is not None else log
                where = f" (all in {shown})" if shown is not None else ""
                n = len(summary.kinds)
                con = err_console()
                con.print(f"{summary.total} warning{'s' if summary.total > 1 else ''} of {n} kind"
                          f"{'s' if n > 1 else ''}{where}:", markup=False)
                for line in summary.lines():
                    con.print("  " + line, markup=False)


def _said(note: str, logged: frozenset) -> bool:
    """Whether a logged warning already says ``note`` (a result's ``"<step>: <subject>: ...: <reason>"``):
    one holds both the note's subject (its first name after the step, ``a / * / *`` read as ``a``) and its
    reason (the last part of at least three words)."""
    parts = [p.strip() for p in note.split(": ")]
    if len(parts) < 3:
        return False
    subject = parts[1].split(" / ")[0]
    reason = next((p for p in reversed(parts[2:]) if len(p.split()) >= 3), None)
    if reason is None:
        return False
    reason = reason.rstrip(".")
    return any(subject in text and reason in text for text in logged)


def print_notes(notes) -> None:
    """Print a result's warnings as ``note:`` lines, once each, leaving out those the warning summary of
    the run (:func:`summarised_warnings`) has just shown."""
    logged = STATE.get("logged", frozenset())
    for note in dict.fromkeys(notes):
        if not _said(note, logged):
            out_console().print(f"note: {note}", markup=False)


def _attach(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(logging.DEBUG if STATE["debug"] else logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    return handler


def _to_log_only(handler: logging.Handler, level: int, message: str) -> None:
    """Write a record to the run log only (the console gets the one-line message from :func:`main`)."""
    handler.handle(logging.makeLogRecord({"name": "kzmig.cli", "levelno": level,
                                          "levelname": logging.getLevelName(level), "msg": message}))


@contextlib.contextmanager
def run_folder(out: Path | None, *, study: str, overwrite: bool) -> Iterator[RunFolder]:
    """A :class:`RunFolder` with ``run.log`` inside it; an error marks the folder failed.

    The traceback of an internal error goes to ``run.log`` (in ``<out>.failed-<id>/``), and
    the exception carries that path for :func:`main` to print.
    """
    with RunFolder(out, study=study, overwrite=overwrite) as run:
        handler = _attach(run.path / "run.log")
        try:
            with summarised_warnings(run.target / "run.log",
                                     run.target.with_name(f"{run.target.name}.failed-{run.run_id}") / "run.log"):
                yield run
        except KzmigError as err:
            _save_partial(run, err, handler)
            _to_log_only(handler, logging.ERROR, f"error: {err}")
            raise
        except BaseException as err:
            _save_partial(run, err, handler)
            _to_log_only(handler, logging.ERROR, "internal error: " + "".join(traceback.format_exception(err)))
            err.kzmig_log = run.target.with_name(f"{run.target.name}.failed-{run.run_id}") / "run.log"  # type: ignore[attr-defined]
            raise
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()


def _save_partial(run: RunFolder, err: BaseException, handler: logging.Handler) -> None:
    """Tasks that failed (after a retry) stop a study, but the forecasts of the tasks that succeeded
    are written to the failed run folder (``backtest_partial.csv``) rather than lost."""
    from kzmig.core.atomic import atomic_write_csv

    seen: BaseException | None = err
    while seen is not None:
        partial = getattr(seen, "partial", None)
        if partial is not None and len(partial):
            path = atomic_write_csv(partial, run.path / "backtest_partial.csv", index=False)
            note = (f"the forecasts of the {len(getattr(seen, 'results', []))} backtest tasks that succeeded are in "
                    f"{path.name} of the failed run folder")
            _to_log_only(handler, logging.WARNING, note)
            err_console().print(f"note: {note}", markup=False)
            return
        seen = seen.__cause__ or seen.__context__


def report_internal(err: BaseException) -> Path:
    """Write the traceback of an internal error to a log file (the run's, or a new one); return it."""
    path = getattr(err, "kzmig_log", None)
    if path is not None and Path(path).exists():
        return Path(path)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = Path(tempfile.gettempdir()) / f"kzmig-error-{stamp}.log"
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"kzmig {' '.join(sys.argv[1:])}\n")
        fh.write("".join(traceback.format_exception(err)))
    return path


def setup_logging(verbose: bool, debug: bool) -> None:
    """Console logging for the command line (the library only emits records)."""
    from rich.logging import RichHandler

    STATE["debug"] = debug
    console = RichHandler(console=err_console(), show_path=False, rich_tracebacks=False)
    # the console shows warnings (-v: progress notes too); run.log keeps the INFO trail
    console.setLevel(logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING)
    logging.basicConfig(level=logging.DEBUG if (verbose or debug) else logging.INFO, format="%(message)s",
                        handlers=[console], force=True)
    STATE["console"] = console
    for noisy in ("matplotlib", "PIL", "fontTools", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
