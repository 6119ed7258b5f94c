"""The assessment config (``kzmig assess``): the command-line options and the typology thresholds.

In a file it is the ``[assess]`` table (alone, or inside a run config)::

    [assess]
    regions = ["almaty_city", "astana"]   # optional; default: every unit of the borders
    targets = "targets.csv"               # optional; relative to this file
    geojson = "regions.geojson"           # optional; boundaries for a true choropleth
    method = "default"                    # "paper": the source's conventions
    smooth_k = 3                          # years averaged at each end of the period
    rel_tol = 0.2                         # trend-type tolerances
    abs_tol = 0.5
    roll_window = 5                       # rolling trend panel
    roll_k = 2

    [assess.data]                         # the [data] block every study shares
    first_year = 2006                     # the period
    last_year = 2022
    borders = 2018                        # view = "harmonised" (the assessment needs fixed borders)
    breaks = "drop"                       # break years left out of the smoothed start/end rates

Defaults are the thresholds of :mod:`kzmig.features.assessment.typology`. Whether the period (``data.first_year``-``data.last_year``) and regions are covered by the data is
checked after loading it.
"""
from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import Field, SerializationInfo, field_serializer, model_validator

from kzmig.config.base import FilePath, SafeName, Text, Unique, error, fail, toml_repr
from kzmig.config.blocks import DataBlock, StudyConfigBase, dump_data, refuse_data_keys, study_data
from kzmig.features.data.regions import units
from kzmig.features.assessment.typology import (
    DEFAULT_ABS_TOL,
    DEFAULT_K,
    DEFAULT_REL_TOL,
    DEFAULT_ROLL_K,
    DEFAULT_ROLL_WINDOW,
)


#: ``method``: "default" (this toolkit's rules) or "paper" (the source's conventions).
METHODS = ("default", "paper")
#: ``[data]`` of an assessment when the file leaves them out: the period.
DATA_DEFAULTS = {"first_year": 2006, "last_year": 2022}
#: Keys of the ``[assess]`` table before the ``[data]`` block was shared -> where they went.
OLD_KEYS = {"start": "data.first_year", "end": "data.last_year", "borders": "data.borders",
            "skip_breaks": "data.breaks"}


class AssessStudyConfig(StudyConfigBase):
    """``[assess]``: the shared ``[data]`` block (period, borders, break years), units, targets file,
    method and thresholds.

    ``targets`` is read as a :class:`~pathlib.Path` (relative paths resolved against the
    config file's folder when loaded from a file, which must then exist).
    """

    name: SafeName = "assess"
    data: DataBlock = Field(default_factory=lambda: DataBlock(**DATA_DEFAULTS))
    regions: Annotated[tuple[Text, ...], Field(min_length=1), Unique] | None = None
    targets: FilePath | None = None
    geojson: FilePath | None = None
    method: Literal[METHODS] = "default"  # type: ignore[valid-type]
    smooth_k: Annotated[int, Field(ge=1)] = DEFAULT_K
    rel_tol: Annotated[float, Field(ge=0)] = DEFAULT_REL_TOL
    abs_tol: Annotated[float, Field(ge=0)] = DEFAULT_ABS_TOL
    roll_window: Annotated[int, Field(ge=2)] = DEFAULT_ROLL_WINDOW
    roll_k: Annotated[int, Field(ge=1)] = DEFAULT_ROLL_K

    @field_serializer("data")
    def _dump_data(self, value: DataBlock, info: SerializationInfo) -> dict[str, Any]:
        return dump_data(value, "assess", info)

    @model_validator(mode="before")
    @classmethod
    def _old_keys_and_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict):
            fail(error((k,), f"found {toml_repr(data[k])}; {k} moved to the [data] block every study shares: "
                             f"write {new.split('.')[1]}" + (" = \"drop\" (skip them) or \"keep\"" if k == "skip_breaks"
                                                             else f" = {toml_repr(data[k])}") + " in [assess.data].", data[k])
                 for k, new in OLD_KEYS.items() if k in data)
        return study_data(data, DATA_DEFAULTS)

    @model_validator(mode="after")
    def _period_and_window(self) -> AssessStudyConfig:
        problems = refuse_data_keys(self.data, "assess")
        if self.data.view != "harmonised":
            problems.append(error(("data", "view"), f"found {toml_repr(self.data.view)}; the assessment compares "
                                                    "regions over a period, so it needs view = \"harmonised\" "
                                                    "(fixed borders).", self.data.view))
        if self.regions is not None and self.data.borders is not None:  # the units of the borders, known without data
            known = units(self.data.borders)
            for i, region in enumerate(self.regions):
                if region not in known:
                    close = difflib.get_close_matches(region, known, n=1)
                    problems.append(error(("regions", i), f"found {toml_repr(region)}; not a unit of borders = "
                                          f"{self.data.borders}" + (f" (did you mean {toml_repr(close[0])}?)" if close
                                                                   else "") + f": {', '.join(known)}.", region))
        if self.data.first_year is None or self.data.last_year is None:
            problems.append(error(("data",), "the assessment needs a period: data.first_year and data.last_year."))
        if self.roll_k > self.roll_window // 2:
            problems.append(error(("roll_k",), f"found {self.roll_k}; roll_k years are averaged at each end of "
                                               f"a window of roll_window = {self.roll_window} years, so roll_k "
                                               f"must be at most {self.roll_window // 2}.", self.roll_k))
        fail(problems)
        return self
