"""A forecaster registered from this test module alone is a model of kzmig like the built-in ones.

:class:`ToyMean` (the mean, or median, of each region's last ``k`` values, carried flat, with a
horizon limit ``reach``) is registered by :func:`kzmig.models.registry.register` in a fixture
(and removed after, so the other tests see the built-in registry). Nothing else in kzmig is
edited, and it gets: the config schema of its ``params`` (choices and ranges refused with the key
named), a rolling-origin backtest split by series, a safe model file, the forecasting study
(``kzmig forecast``), ``kzmig predict`` to a later year and the refusal past its horizon limit.
The numbers are checked against a plain loop over the rows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kzmig.models import registry
from kzmig.models.forecasters.forecast_base import BaseForecaster, forecast_frame
from kzmig.models.persistence import load_model, save_model


class ToyMean(BaseForecaster):
    """The mean (or median) of the last ``k`` values of each region, for every year ahead up to ``reach``."""

    min_length = 2
    has_intervals = False
    update_rule = "the mean of the last k values of the new series (no parameter to keep)"

    def __init__(self, *, k=2, how="mean", reach=6, name=None, breaks="bridge"):
        self.k, self.how, self.reach, self.name, self.breaks = k, how, reach, name, breaks

    def _fit(self, data: pd.DataFrame) -> None:
        agg = np.mean if self.how == "mean" else np.median
        self.level_ = {str(r): float(agg(g["y_fit"].to_numpy()[-int(self.k):]))
                       for r, g in data.groupby("region", sort=False)}

    def _update(self, data: pd.DataFrame) -> None:
        self._fit(data)

    def _predict(self, h: int, levels) -> pd.DataFrame:
        if h > self.reach:
            raise ValueError(f"ToyMean: fitted for horizons 1..{self.reach}")
        return pd.concat([forecast_frame(self._name(), r, self.origin_years_[r], np.full(h, v), None, levels)
                          for r, v in self.level_.items()], ignore_index=True)


@pytest.fixture(scope="module", autouse=True)
def toy_registered():
    registry.register("toy_mean", pools=False, horizon="reach", choices={"how": ("mean", "median")},
                      ranges={"k": (1, 5)})(ToyMean)
    yield
    registry.unregister("toy_mean")


def _series() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    rows = [(r, y, float(rng.normal(100 * (i + 1), 10))) for i, r in enumerate(["a", "b", "c"])
            for y in range(2000, 2012)]
    return pd.DataFrame(rows, columns=["region", "year", "y"])


def test_registry_reads_the_declaration():
    est = registry.make_model("toy_mean", {"k": 3, "reach": 4}, name="toy")
    entry = registry.info("toy_mean")
    assert entry.cls is ToyMean and entry.family == "forecaster" and "toy_mean" in registry.FORECAST_KINDS
    assert registry.pools(est) is False and registry.horizon_limit(est) == 4
    assert f"{__name__}.ToyMean" in registry.model_classes()
    wrapped = registry.make_model("log", model=est, name="toy")  # a wrapper reads the limit of what it wraps
    assert registry.horizon_limit(wrapped) == 4 and registry.pools(wrapped) is False


def test_backtest_for_free_matches_a_plain_loop():
    from kzmig.forecast.engine.backtest import backtest

    df = _series()
    est = registry.make_model("toy_mean", {"k": 3}, name="toy")
    bt = backtest(df, {"toy": est}, origins=[2006, 2008], horizon=2, group_size=1)
    for _, row in bt.iterrows():  # the mean of the 3 years up to the origin, by hand
        past = df.loc[(df["region"] == row["region"]) & df["year"].between(row["origin_year"] - 2, row["origin_year"]), "y"]
        assert row["point"] == pytest.approx(sum(past) / 3)
        assert row["actual"] == df.loc[(df["region"] == row["region"]) & (df["year"] == row["year"]), "y"].item()
    assert len(bt) == 3 * 2 * 2
    whole = backtest(df, {"toy": est}, origins=[2006, 2008], horizon=2)  # per series: grouping changes nothing
    pd.testing.assert_frame_equal(bt, whole)


def test_save_and_load_for_free(tmp_path):
    est = registry.make_model("toy_mean", {"k": 2, "how": "median"}, name="toy").fit(_series())
    save_model(est, tmp_path / "toy")
    back = load_model(tmp_path / "toy")
    assert type(back) is ToyMean and back.get_params() == est.get_params()
    pd.testing.assert_frame_equal(back.predict(3), est.predict(3))


def _study(tmp_path: Path, params: str = "{ k = 2, how = \"median\" }") -> Path:
    cfg = tmp_path / "toy.toml"
    cfg.write_text(f"""
[study]
name = "toy"
[data]
view = "harmonised"
borders = 2018
[targets]
names = ["net_migration"]
additive = []
[backtest]
origins = {{from = 2012, to = 2014}}
horizon = 2
[forecast]
to_year = 2019
max_years_ahead = 20
conformal = "missing"
[models.naive]
kind = "naive"
[models.toy]
kind = "toy_mean"
params = {params}
""", encoding="utf-8")
    return cfg


def test_config_validation_for_free(tmp_path):
    from kzmig.config import load_config
    from kzmig.core.errors import KzmigError

    cfg = load_config(_study(tmp_path))
    spec = {s.name: s for s in cfg.models}["toy"]
    assert spec.kind == "toy_mean" and dict(spec.params) == {"k": 2, "how": "median"}
    with pytest.raises(KzmigError, match=r"models\.toy\.params\.how"):
        load_config(_study(tmp_path, '{ how = "mode" }'))  # not one of the declared choices
    with pytest.raises(KzmigError, match=r"models\.toy\.params\.k"):
        load_config(_study(tmp_path, "{ k = 9 }"))  # outside the declared range 1..5
    with pytest.raises(KzmigError, match=r"models\.toy\.params"):
        load_config(_study(tmp_path, "{ kk = 2 }"))  # not a parameter of the class


def _panel() -> pd.DataFrame:
    """SYNTHETIC long table: net migration of three real region codes and the national sum, 2004-2017."""
    rng = np.random.default_rng(11)
    rows = []
    for y in range(2004, 2018):
        vals = {r: float(np.round(rng.normal(scale=300.0 * (i + 1)))) for i, r in enumerate(["akmola", "aktobe", "atyrau"])}
        rows += [(r, y, "net_migration", v, "") for r, v in vals.items()]
        rows.append(("kazakhstan", y, "net_migration", sum(vals.values()), ""))
    return pd.DataFrame(rows, columns=["region", "year", "variable", "value", "flag"])


def run_kzmig(*args, capsys):
    from kzmig.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, (out.out + out.err).replace("\n", " ")


def test_study_and_predict_to_a_later_year_for_free(tmp_path, capsys):
    data = tmp_path / "data.csv"
    _panel().to_csv(data, index=False)
    run = tmp_path / "run"
    code, text = run_kzmig("forecast", _study(tmp_path), "--out", run, "--data", data, capsys=capsys)
    assert code == 0, text
    long = _panel()
    last = long.loc[(long["variable"] == "net_migration") & (long["region"] == "akmola")].sort_values("year")
    want = float(np.median(last["value"].to_numpy()[-2:]))  # median of the last 2 published values
    fc = pd.read_csv(run / "forecasts.csv")
    toy = fc.loc[(fc["model"] == "toy") & (fc["region"] == "akmola")]
    assert toy["year"].max() == 2019 and toy["point"].to_numpy() == pytest.approx(want, abs=0.5)  # whole persons
    assert (run / "models" / "net_migration" / "toy").is_dir()

    later = tmp_path / "pred"
    code, text = run_kzmig("predict", run, "--to-year", 2023, "--out", later, capsys=capsys)  # 2017 + 6: its reach
    assert code == 0, text
    fc = pd.read_csv(later / "forecasts.csv")
    toy = fc.loc[(fc["model"] == "toy") & (fc["region"] == "akmola")]
    assert toy["year"].max() == 2023 and toy["point"].to_numpy() == pytest.approx(want, abs=0.5)

    code, text = run_kzmig("predict", run, "--to-year", 2024, "--out", tmp_path / "too_far", capsys=capsys)
    assert code == 2, text  # one year past its reach: the model and its limit named
    assert "model 'toy'" in text and "at most 6 years" in text and "models.toy.params.reach >= 7" in text
