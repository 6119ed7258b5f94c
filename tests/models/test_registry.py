"""The registry is the one place that knows the concrete model classes.

Every other library module reads what a model declares (:mod:`kzmig.models.registry`); this
test walks the code (the syntax tree, so prose in docstrings does not count) and fails when a
module other than the model's own and the registry names a registered class.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kzmig.models import registry

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"kzmig": ROOT / "kzmig", "kzmig.models": ROOT / "models", "kzmig.forecast": ROOT / "forecast",
            "kzmig.features": ROOT / "features"}


def _modules():
    for pkg, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            yield ".".join([pkg, *parts]), path


def _names(tree: ast.AST) -> set[str]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            out.add(node.id)
        elif isinstance(node, ast.Attribute):
            out.add(node.attr)
        elif isinstance(node, ast.ImportFrom):
            out.update(a.name for a in node.names)
    return out


def test_no_module_names_a_concrete_model_class_but_its_own_and_the_registry():
    classes = {e.cls.__name__: e.cls.__module__ for e in registry.entries().values()}
    assert {"DirectFE", "Stacked", "Log", "Naive", "FixedEffectsMigration"} <= set(classes)
    offenders = []
    for module, path in _modules():
        if module == "kzmig.models.registry":
            continue
        used = _names(ast.parse(path.read_text(encoding="utf-8")))
        offenders += [f"{path.relative_to(ROOT)}: {name}" for name, home in classes.items()
                      if name in used and module != home]
    assert offenders == []


def test_the_walk_finds_a_planted_reference(tmp_path):
    """The check above can fail: a module importing a model class is found."""
    planted = ast.parse("from kzmig.models.forecasters.fe_direct import DirectFE\nx = isinstance(1, DirectFE)\n")
    assert "DirectFE" in _names(planted)


def test_builtin_declarations():
    kinds = registry.entries()
    assert registry.FORECAST_KINDS == ("naive", "drift", "window_mean", "historic_mean", "auto_arima", "ets", "theta",
                                       "pooled_ar", "boosting", "ensemble", "mean_reversion", "fe_direct", "stacked")
    assert {k for k, e in kinds.items() if e.horizon} == {"boosting", "fe_direct"}
    assert {k for k, e in kinds.items() if e.members} == {"ensemble", "stacked", "since", "log"}
    assert {k for k, e in kinds.items() if e.family == "forecaster" and e.pools is False} == {
        "naive", "drift", "window_mean", "historic_mean", "auto_arima", "ets", "theta"}
    assert registry.info("ets").choices["criterion"] == ("aicc", "aic", "bic")


def test_wrappers_and_combinations_report_the_limits_and_pooling_inside():
    fe = registry.make_model("fe_direct", {"max_horizon": 5})
    naive = registry.make_model("naive")
    assert registry.horizon_limit(naive) is None and registry.horizon_limit(fe) == 5
    assert registry.horizon_limit(registry.make_model("log", model=fe)) == 5
    assert registry.horizon_limit(registry.make_model("since", model=registry.make_model("log", model=fe))) == 5
    st = registry.make_model("stacked", members=[("n", naive), ("fe", fe)])
    assert registry.horizon_limit(st) == 5 and registry.pools(st) is True
    assert registry.pools(registry.make_model("since", model=naive)) is False
    assert registry.pools(registry.make_model("since", model=fe)) is True


def test_forecast_base_does_not_import_its_subclasses():
    src = (ROOT / "models" / "forecasters" / "forecast_base.py").read_text(encoding="utf-8")
    assert "baselines" not in {a for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)
                               for a in [n.module.rsplit(".", 1)[-1]]}


def test_a_kind_cannot_be_taken_twice_nor_declare_an_unknown_parameter():
    with pytest.raises(ValueError, match=r"the kind is taken by kzmig\.models\.forecasters\.baselines\.Naive"):
        registry.register("naive")(type(registry.make_model("drift")))
    with pytest.raises(ValueError, match=r"takes no parameter\(s\) \['reach'\]"):
        registry.register("naive_again", horizon="reach")(type(registry.make_model("naive")))
    assert "naive_again" not in registry.entries()
