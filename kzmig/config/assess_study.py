"""The assessment config (``kzmig assess``): the command-line options and the typology thresholds.

In a file it is the ``[assess]`` table (alone, or inside a run config)::

    [assess]
    start = 2006
    end = 2022
    borders = 2018
    regions = ["almaty_city", "astana"]   # optional; default: every unit of the borders
    targets = "targets.csv"               # optional; relative to this file
    geojson = "regions.geojson"           # optional; boundaries for a true choropleth
    skip_breaks = true
    method = "default"                    # "paper": the source's conventions
    smooth_k = 3                          # years averaged at each end of the period
    rel_tol = 0.2                         # trend-type tolerances
    abs_tol = 0.5
    roll_window = 5                       # rolling trend panel
    roll_k = 2

Defaults are the thresholds of :mod:`kzmig.features.typology`. Whether the period and regions are covered by the data is
checked after loading it.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from kzmig.config.base import FilePath, SafeName, Text, Unique, Year, error, fail
from kzmig.config.blocks import StudyConfigBase
from kzmig.features.regions import BORDERS
from kzmig.features.typology import (
    DEFAULT_ABS_TOL,
    DEFAULT_K,
    DEFAULT_REL_TOL,
    DEFAULT_ROLL_K,
    DEFAULT_ROLL_WINDOW,
)


#: ``method``: "default" (this toolkit's rules) or "paper" (the source's conventions).
METHODS = ("default", "paper")


class AssessStudyConfig(StudyConfigBase):
    """``[assess]``: period, borders, units, targets file, break policy, method and thresholds.

    ``targets`` is read as a :class:`~pathlib.Path` (relative paths resolved against the
    config file's folder when loaded from a file, which must then exist).
    """

    name: SafeName = "assess"
    start: Year = 2006
    end: Year = 2022
    borders: Literal[BORDERS] = 2018  # type: ignore[valid-type]
    regions: Annotated[tuple[Text, ...], Field(min_length=1), Unique] | None = None
    targets: FilePath | None = None
    geojson: FilePath | None = None
    skip_breaks: bool = True
    method: Literal[METHODS] = "default"  # type: ignore[valid-type]
    smooth_k: Annotated[int, Field(ge=1)] = DEFAULT_K
    rel_tol: Annotated[float, Field(ge=0)] = DEFAULT_REL_TOL
    abs_tol: Annotated[float, Field(ge=0)] = DEFAULT_ABS_TOL
    roll_window: Annotated[int, Field(ge=2)] = DEFAULT_ROLL_WINDOW
    roll_k: Annotated[int, Field(ge=1)] = DEFAULT_ROLL_K

    @model_validator(mode="after")
    def _period_and_window(self) -> AssessStudyConfig:
        problems = []
        if self.end <= self.start:
            problems.append(error(("end",), f"found {self.end}; end must be after start = {self.start} (the "
                                            "period needs a start and an end year to compare).", self.end))
        if self.roll_k > self.roll_window // 2:
            problems.append(error(("roll_k",), f"found {self.roll_k}; roll_k years are averaged at each end of "
                                               f"a window of roll_window = {self.roll_window} years, so roll_k "
                                               f"must be at most {self.roll_window // 2}.", self.roll_k))
        fail(problems)
        return self
