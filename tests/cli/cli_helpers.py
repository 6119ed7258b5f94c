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


REGIONS = ["akmola", "aktobe", "atyrau", "pavlodar", "kostanay"]


def synthetic_panel(first: int = 2004, last: int = 2017, *, short: dict[str, int] | None = None, seed: int = 7):
    """SYNTHETIC long table (real region codes, made-up values): net migration, population and
    natural increase for five regions and the national total, regions summing to the national row.

    ``short`` maps a region to the first year it has data (a series too short to forecast).
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for yr in range(first, last + 1):
        total = 0.0
        for i, r in enumerate(REGIONS):
            v = float(np.round(rng.normal(scale=500.0 * (i + 1))))
            total += v
            if short and yr < short.get(r, first):
                continue
            flag = "break:census_2009" if (yr == 2008 and r == "akmola") else ""
            rows += [(r, yr, "net_migration", v, flag), (r, yr, "population", 5e5 + 100.0 * i + yr, ""),
                     (r, yr, "natural_increase", 3000.0 + 10 * yr - 20000, "")]
        rows += [("kazakhstan", yr, "net_migration", total, ""), ("kazakhstan", yr, "population", 3e6 + yr, ""),
                 ("kazakhstan", yr, "natural_increase", 5 * (3000.0 + 10 * yr - 20000), "")]
    return pd.DataFrame(rows, columns=["region", "year", "variable", "value", "flag"])
