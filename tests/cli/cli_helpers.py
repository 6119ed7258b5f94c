"""Calling the ``kzmig`` command line in-process, as the console script does (:func:`kzmig.cli.main`)."""
from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass



@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """stdout and stderr, with line wrapping removed (messages are checked as one line)."""
        return (self.out + self.err).replace("\n", " ")


def run_kzmig(*args) -> Result:
    from kzmig.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return Result(code, out.getvalue(), err.getvalue())
