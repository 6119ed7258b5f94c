"""Fetch the catalogue's tables and assemble a new dataset version next to the shipped one.

A version is a folder (never the shipped ``data/``)::

    <version>/
      processed/observations.csv  the whole dataset in the shipped layout (region, year, variable,
                                  value, unit, source, flag, note): the base (the shipped data) with
                                  every fetched value in place of the base's
      sources.csv                 one row per source string, with its variables and rows
      fetch_log.csv               one row per table: URL, final URL, status, bytes, sha256, values
                                  kept and cells left out by reason
      skipped.csv                 every cell left out (confidential, sub-regional, not annual, blank)
      changes.csv                 the values revised, added or removed against the base
      raw/                        the response bodies as downloaded
      version.json                version id, creation time, base and its sha256, series, counts
      README.md                   the version's data card

Assembly: a fetched value replaces the base's for its (region, year, variable); base values the
fetch does not cover stay. The figures the build derives (net migration by the balancing
equation, the national population as the sum of the 20 regions, national natural increase as
births - deaths) are derived again from the assembled table, so that they follow revised
inputs. The result passes the shipped data's validation (:func:`kzmig.features.data.panel.validate_panel`
and the variable registry) before anything is written; the folder is staged and renamed into
place only when complete.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kzmig.core.atomic import atomic_write_csv, atomic_write_text
from kzmig.core.errors import ConfigError, DataFileError, StudyError
from kzmig.core.provenance import sha256_file
from kzmig.features.ingest.build import COLUMNS, derived_net_migration
from kzmig.features.data.dataset import coverage
from kzmig.features.ingest.fetch import VERSION_FILE, VERSION_OBSERVATIONS
from kzmig.features.ingest.fetch.catalog import Series
from kzmig.features.ingest.fetch.diff import diff_observations, summarise
from kzmig.features.ingest.fetch.parse import SKIPPED, parse_cube, parse_statgov_tsv
from kzmig.features.data.panel import validate_panel
from kzmig.features.data.regions import DATA_DIR, NATIONAL
from kzmig.features.data.validate import check_variables

if TYPE_CHECKING:
    from kzmig.features.ingest.fetch.client import FetchClient

logger = logging.getLogger(__name__)

#: flags of the rows the build derives; the assembly derives them again
RECOMPUTED = ("derived:balancing", "derived:sum_of_regions", "derived:births_minus_deaths")
LOG_COLUMNS = ["series", "variable", "system", "id", "url", "final_url", "status", "content_type", "bytes",
               "sha256", "values", "corrected", "confidential", "sub_regional", "not_annual", "missing"]
N_REGIONS = 20  # current regions whose sum is the national population (build.py)


@dataclass(frozen=True)
class Fetched:
    """What the fetch got: rows in the shipped layout, one log row per table, the cells left out,
    and the response bodies (file name -> bytes)."""

    observations: pd.DataFrame
    log: pd.DataFrame
    skipped: pd.DataFrame
    bodies: dict[str, bytes] = field(repr=False)
    fetched_at: datetime


def _raw_name(s: Series) -> str:
    ext = "tsv" if s.system == "statgov" and s.fmt == "csv" else "json"
    return f"{s.name}_{s.system}_{s.id}.{ext}"


def fetch_tables(client: FetchClient, series: Sequence[Series], *, fetched_at: datetime,
                 since: int | None = None) -> Fetched:
    """Download and parse each table; nothing is written.

    Raises
    ------
    OfflineError, FetchError
        From the client (:mod:`kzmig.features.ingest.fetch.client`).
    DataError
        From the parsers: a changed layout, an unknown region name, a value that is not a number.
    StudyError
        No table gave a value (for ``since``).
    """
    frames, logs, skipped, bodies = [], [], [], {}
    for s in series:
        resp = client.get(s.url, s.params)
        parse = parse_statgov_tsv if s.system == "statgov" and s.fmt == "csv" else parse_cube
        parsed = parse(resp.body, s, f"{resp.url} ({s.name}: {s.what})")
        rows = parsed.rows
        if since is not None:
            rows = rows[rows["year"] >= since]
        note = f"fetched {fetched_at:%Y-%m-%d}"
        frame = pd.DataFrame({
            "region": rows["region"], "year": rows["year"], "variable": s.variable, "value": rows["value"],
            "unit": s.unit, "source": s.source, "flag": rows["flag"],
            "note": [f"{note}; {n}" if n else note for n in rows["note"]],
        })
        if len(frame):  # each table on its own first, so that a message names its URL
            frame = validate_panel(frame.astype({"region": "string", "variable": "string"}),
                                   source=f"{resp.url} ({s.name})")
        frames.append(frame)
        reasons = parsed.skipped["reason"].value_counts()
        logs.append({"series": s.name, "variable": s.variable, "system": s.system, "id": s.id, "url": resp.url,
                     "final_url": resp.final_url, "status": resp.status, "content_type": resp.content_type,
                     "bytes": len(resp.body), "sha256": resp.sha256, "values": len(rows),
                     "corrected": int((rows["flag"] != "").sum()),
                     **{k.replace("-", "_"): int(reasons.get(k, 0))
                        for k in ("confidential", "sub-regional", "not annual", "missing")}})
        skipped.append(parsed.skipped.assign(series=s.name))
        bodies[_raw_name(s)] = resp.body
        logger.info("%s: %d values from %s", s.name, len(rows), resp.url)
    obs = pd.concat(frames, ignore_index=True)
    # two tables for one variable: a region-year takes the first table of the catalogue that has it
    obs = obs.drop_duplicates(["region", "year", "variable"], keep="first")
    if obs.empty:
        raise StudyError(f"the fetch gave no values{f' from {since} on' if since else ''} for the series "
                         f"{[s.name for s in series]}; nothing was written.")
    log = pd.DataFrame(logs).rename(columns={"not annual": "not_annual"})
    log.columns = [c.replace(" ", "_") for c in log.columns]
    return Fetched(obs[COLUMNS].reset_index(drop=True), log[LOG_COLUMNS],
                   pd.concat(skipped, ignore_index=True)[["series", *SKIPPED]], bodies, fetched_at)


def _national_sums(obs: pd.DataFrame) -> pd.DataFrame:
    """National population (2023 on) as the sum of the 20 regions where no national figure exists (as the build)."""
    pop = obs[obs["variable"] == "population"]
    regional = pop[(pop["region"] != NATIONAL) & (pop["year"] >= 2023)]
    have = set(pop.loc[pop["region"] == NATIONAL, "year"])
    g = regional.groupby("year").agg(value=("value", "sum"), n=("region", "nunique")).reset_index()
    g = g[(g["n"] == N_REGIONS) & ~g["year"].isin(have)]
    return pd.DataFrame({"region": NATIONAL, "year": g["year"], "variable": "population", "value": g["value"],
                         "unit": "persons", "source": "kzmig:features/ingest/fetch/version.py (population of the 20 regions)",
                         "flag": "derived:sum_of_regions", "note": "sum of the 20 regions of the version"})


def _national_natural_increase(obs: pd.DataFrame) -> pd.DataFrame:
    """National natural increase as births - deaths where no national figure exists (as the build)."""
    nat = obs[obs["region"] == NATIONAL]
    have = set(nat.loc[nat["variable"] == "natural_increase", "year"])
    w = nat[nat["variable"].isin(["births", "deaths"])].pivot(index="year", columns="variable", values="value")
    w = w.reindex(columns=["births", "deaths"]).dropna()
    w = w[~w.index.isin(have)]
    return pd.DataFrame({"region": NATIONAL, "year": w.index.astype("int64"), "variable": "natural_increase",
                         "value": (w["births"] - w["deaths"]).to_numpy(), "unit": "persons",
                         "source": "kzmig:features/ingest/fetch/version.py (national births and deaths)",
                         "flag": "derived:births_minus_deaths", "note": "births - deaths"})


def assemble(base: pd.DataFrame, fetched: pd.DataFrame, *, source: str = "the new version") -> pd.DataFrame:
    """The new version's observations: ``fetched`` over ``base``, derived figures derived again, validated.

    Raises
    ------
    PanelContractError
        The assembled table fails the shipped data's validation (names row, region, year, variable).
    """
    check_variables(fetched, source)
    base = base.reindex(columns=COLUMNS)
    derived = base["flag"].fillna("").str.contains("|".join(RECOMPUTED), regex=True)
    keys = ["region", "year", "variable"]
    kept = base[~derived].merge(fetched[keys].assign(_f=1), on=keys, how="left")
    obs = pd.concat([fetched, kept[kept["_f"].isna()].drop(columns="_f")], ignore_index=True)
    obs = pd.concat([obs, _national_sums(obs), _national_natural_increase(obs)], ignore_index=True)
    obs["year"] = obs["year"].astype("int64")
    obs = pd.concat([obs, derived_net_migration(obs)], ignore_index=True)
    for col in ("region", "variable", "unit", "source", "flag", "note"):
        obs[col] = obs[col].fillna("").astype("string")
    obs = obs[COLUMNS].sort_values(["variable", "region", "year"], kind="stable").reset_index(drop=True)
    return validate_panel(obs, source=source)


@dataclass(frozen=True)
class DataVersion:
    """A new dataset version, not yet written (:meth:`save` writes it)."""

    version: str
    observations: pd.DataFrame = field(repr=False)
    fetched: Fetched = field(repr=False)
    changes: pd.DataFrame = field(repr=False)
    base: dict[str, Any]
    series: tuple[str, ...]
    since: int | None = None

    def meta(self) -> dict[str, Any]:
        counts = self.changes["change"].value_counts()
        return {"version": self.version, "kind": "fetched", "created_at": self.fetched.fetched_at.isoformat(),
                "base": self.base, "series": list(self.series), "since": self.since,
                "rows": int(len(self.observations)), "fetched_values": int(len(self.fetched.observations)),
                "changes": {c: int(counts.get(c, 0)) for c in ("revised", "added", "removed")}}

    def save(self, out: str | Path) -> Path:
        """Write the version folder (staged, renamed into place when complete); return its path.

        Raises
        ------
        ConfigError
            ``out`` is the shipped data folder or holds it, or exists and is not empty.
        """
        out = Path(out)
        shipped = DATA_DIR.resolve()
        if out.resolve() == shipped or shipped.is_relative_to(out.resolve()):
            raise ConfigError(f"--out {out}: this would write over the shipped dataset ({DATA_DIR}); a fetched "
                              "version goes into a folder of its own, e.g. data/versions/<version>.")
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ConfigError(f"--out {out}: exists and is not an empty folder; a version is never written over "
                              "another. Choose a new folder.")
        stage = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
        try:
            stage.mkdir(parents=True)
        except OSError as exc:
            raise DataFileError(f"--out {out}: cannot create a folder there ({exc.strerror}); pass --out with a "
                                "writable folder (an installed package's data folder may be read-only).") from None
        try:
            self._write(stage)
            if out.exists():
                out.rmdir()
            os.replace(stage, out)
        finally:
            if stage.exists():
                shutil.rmtree(stage)
        return out

    def _write(self, folder: Path) -> None:
        obs_path = atomic_write_csv(self.observations, folder / VERSION_OBSERVATIONS, float_format="%.10g")
        src = (self.observations.groupby("source", sort=True)
               .agg(variables=("variable", lambda v: ", ".join(sorted(set(v)))), rows=("value", "size"))
               .reset_index())
        atomic_write_csv(src, folder / "sources.csv")
        atomic_write_csv(self.fetched.log, folder / "fetch_log.csv")
        atomic_write_csv(self.fetched.skipped, folder / "skipped.csv")
        atomic_write_csv(self.changes, folder / "changes.csv", float_format="%.10g")
        for name, body in sorted(self.fetched.bodies.items()):
            (folder / "raw").mkdir(exist_ok=True)
            (folder / "raw" / name).write_bytes(body)
        meta = {**self.meta(), "observations_sha256": sha256_file(obs_path)}
        atomic_write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", folder / VERSION_FILE)
        atomic_write_text(data_card(self), folder / "README.md")


def build_version(base: pd.DataFrame, fetched: Fetched, *, base_meta: dict[str, Any], series: Sequence[str],
                  since: int | None = None) -> DataVersion:
    """Assemble, validate and compare a fetch against ``base`` (the shipped observations)."""
    version = f"fetch-{fetched.fetched_at:%Y%m%dT%H%M%SZ}"
    obs = assemble(base, fetched.observations, source=f"dataset version {version}")
    changes = diff_observations(base, obs)
    return DataVersion(version, obs, fetched, changes, dict(base_meta), tuple(series), since)


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "(none)\n"
    head = "| " + " | ".join(map(str, df.columns)) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(str(v) for v in r) + " |\n" for r in df.itertuples(index=False))


def _wage_note(v: DataVersion, fetched_vars: list[str]) -> str:
    """What the data card says about the average wage, when the version fetched it."""
    if "avg_wage_kzt" not in fetched_vars:
        return ""
    wage = v.changes[v.changes["variable"] == "avg_wage_kzt"]
    n_rev, n_round = int((wage["change"] == "revised").sum()), int(wage["within_rounding"].sum())
    return (
        "## The average wage\n\n"
        "Taldau 702972 (annual) feeds `avg_wage_kzt` (KZT per month, plausible range 5,000-3,000,000): it is the "
        "statistic of BNS element 5676 that the features, the low-wage flag, the regressions and the scenarios "
        "use (SOURCES.md, Round 4: round(value / 1000, 1) equals the 2020 Taldau copy for all 18 rows). Merged "
        "units of the fixed-border views weight it by employed persons (`employed_population`, flag "
        "`derived:weighted_employed`), as in the shipped data. The shipped copy of element 5676 was rounded to "
        "whole tenge by a third-party script, while Taldau may publish decimals: a fetched wage can differ from "
        f"the shipped one by less than 1 KZT. Here {n_rev} wage value(s) are revised, {n_round} of them only "
        "within the shipped rounding (`within_rounding`).\n\n"
        "`avg_wage_thousand_kzt` (the 2020 Taldau copy in thousand KZT, rounded to 0.1) is not fetched: it "
        "stays as shipped, so where a 2020 wage is revised it no longer equals `avg_wage_kzt` / 1,000. No model "
        "uses it; use `avg_wage_kzt`.\n\n"
    )


def data_card(v: DataVersion) -> str:
    """The version's data card (markdown): what was fetched, what changed, what was left out, coverage."""
    log = v.fetched.log[["series", "variable", "url", "values", "corrected", "confidential", "sub_regional",
                         "not_annual", "sha256"]].assign(sha256=lambda d: d["sha256"].str[:12])
    fetched_vars = sorted(set(v.fetched.observations["variable"]))
    cov = coverage(v.observations[v.observations["variable"].isin(fetched_vars)])
    return (
        f"# Data card: dataset version `{v.version}`\n\n"
        f"Written by `kzmig data fetch` on {v.fetched.fetched_at:%Y-%m-%d %H:%M} UTC as a new version of the dataset "
        f"(never over the shipped one). Base: {v.base.get('label')} (sha256 `{str(v.base.get('sha256'))[:12]}...`). "
        "Definitions, units, border views and flags are those of the shipped data card (`data/README.md`); "
        "this card lists what differs.\n\n"
        "Assembly: each fetched value replaces the base's value for its region, year and variable; base values "
        "the fetch does not cover stay as shipped; net migration by the balancing equation, the national "
        "population after 2022 (sum of the 20 regions) and the national natural increase (births - deaths) "
        "are derived again from the assembled table. The table passed the shipped data's validation.\n\n"
        f"Rows: {len(v.observations):,}; variables: {v.observations['variable'].nunique()}; "
        f"fetched values: {len(v.fetched.observations):,}"
        f"{f' (years from {v.since})' if v.since else ''}.\n\n"
        "## Tables fetched\n\n" + _md_table(log) +
        "\n`corrected`: values printed with spurious zero groups, divided back (flag `corrected:zero_groups`, the "
        "printed text in `note`). Cells left out (listed in `skipped.csv`): `confidential` (`x`), `sub_regional` "
        "(districts and towns), `not_annual` (quarters, months). The bodies as downloaded are in `raw/`.\n\n"
        "## Changes against the base (`changes.csv`)\n\n" + _md_table(summarise(v.changes)) +
        "\nDerived rows (flag `derived:*`) change with their inputs. `within_rounding`: revisions where the base "
        "stores the series in whole units and holds the fetched value rounded half up (the same figure at a coarser precision, not a "
        "revision by the Bureau); they are listed in `changes.csv` with `within_rounding` = True.\n\n"
        + _wage_note(v, fetched_vars) +
        "## Coverage of the fetched variables\n\n" + _md_table(cov)
    )
