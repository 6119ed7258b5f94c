"""The one registry of feature builders, read by the regression and the assessment.

A feature builder turns the wide panel (``region``, ``year``, one column per variable) into
new columns for the same ``region, year`` rows. The regression study runs the builders its
config names (``[features] builders``, checked against :data:`BUILDER_NAMES`) through
:func:`kzmig.features.builders.factors.add_features`; the assessment (stage 4) runs every builder of
:data:`ASSESSMENT_BUILDERS` and leaves out, with a note, a family whose inputs the data lack.

Adding a builder: write ``build_x(panel) -> DataFrame`` in its own module of ``features/``
and add one :class:`FeatureBuilder` line to :data:`BUILDERS` below (or call
:func:`register_builder` at run time, e.g. in a test). See ``docs/architecture_studies.md``.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from kzmig.core.errors import ConfigError
from kzmig.features.builders.attractiveness import AttractivenessIndex
from kzmig.features.builders.density import build_density
from kzmig.features.builders.housing import build_housing
from kzmig.features.builders.labour import build_labour
from kzmig.features.builders.wages import build_wages

KEYS = ("region", "year")


@dataclass(frozen=True)
class Built:
    """What a builder returns: the new columns and, optionally, tables that explain them.

    Attributes
    ----------
    columns : DataFrame
        ``region``, ``year`` and the new columns (one row per panel row).
    tables : mapping of str to DataFrame
        Diagnostics the assessment saves beside its features (e.g. the attractiveness
        loadings); empty for most builders.
    """

    columns: pd.DataFrame
    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    def __post_init__(self) -> None:
        absent = [k for k in KEYS if k not in self.columns.columns]
        if absent:
            raise ValueError(f"a feature builder returned no {absent} column(s); it must return region, year and "
                             f"its new columns (got {list(self.columns.columns)}).")
        object.__setattr__(self, "tables", MappingProxyType(dict(self.tables)))


@dataclass(frozen=True)
class FeatureBuilder:
    """A registered feature builder.

    Attributes
    ----------
    name : str
        The name a config uses (``[features] builders = ["density"]``).
    function : callable
        ``function(panel, **options) -> DataFrame | Built``; raises
        :class:`~kzmig.core.errors.PanelContractError` when the panel lacks its inputs.
    description : str
        One line for the docs and error messages.
    """

    name: str
    function: Callable[..., pd.DataFrame | Built]
    description: str = ""

    def build(self, panel: pd.DataFrame, **options: Any) -> Built:
        """Run the builder on ``panel``; always returns a :class:`Built`."""
        out = self.function(panel, **options)
        return out if isinstance(out, Built) else Built(out)


def build_attractiveness(panel: pd.DataFrame) -> Built:
    """Equal-weight and first-principal-component attractiveness indices (fitted on ``panel``),
    with the index table, the loadings and the missing components as diagnostics."""
    model = AttractivenessIndex().fit(panel)
    att = model.transform(panel)
    return Built(att[["region", "year", "attractiveness_equal", "attractiveness_pc1"]], {
        "attractiveness": att,
        "attractiveness_loadings": model.loadings_.assign(explained_variance_ratio_pc1=model.explained_variance_ratio_),
        "attractiveness_missing": model.missing_components_})


#: name -> builder; the one list of feature builders (its order is the order of :data:`BUILDER_NAMES`)
BUILDERS: dict[str, FeatureBuilder] = {b.name: b for b in (
    FeatureBuilder("density", build_density, "population per km2 (and its log in the factor panel)"),
    FeatureBuilder("labour", build_labour, "unemployment, labour force, its growth, labour-surplus flag"),
    FeatureBuilder("housing", build_housing, "new housing per 1,000 population and affordability"),
    FeatureBuilder("wages", build_wages, "wages and money income relative to the national value"),
    FeatureBuilder("attractiveness", build_attractiveness, "equal-weight and PC1 attractiveness indices"),
)}

#: the names of the shipped builders (a config's ``Literal`` choice of ``[features] builders``)
BUILDER_NAMES: tuple[str, ...] = tuple(BUILDERS)

#: the builders of the assessment's stage 4, in the order their columns join ``features.csv``
ASSESSMENT_BUILDERS: tuple[str, ...] = ("labour", "wages", "housing", "density", "attractiveness")


def register_builder(builder: FeatureBuilder) -> FeatureBuilder:
    """Add a builder at run time (an extension, a test); a name already registered is refused."""
    if builder.name in BUILDERS:
        raise ValueError(f"feature builder {builder.name!r} is registered already.")
    BUILDERS[builder.name] = builder
    return builder


def get_builder(name: str, *, key: str = "features.builders") -> FeatureBuilder:
    """The builder called ``name``; an unknown name is a :class:`~kzmig.core.errors.ConfigError`
    naming ``key`` and the registered names."""
    try:
        return BUILDERS[name]
    except KeyError:
        raise ConfigError(f"{key}: [{name!r}] unknown; choose from {sorted(BUILDERS)}.") from None
