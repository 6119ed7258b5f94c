"""A study's data: each border view of a DataSource is derived once and handed out as a copy."""
from __future__ import annotations

import pandas as pd
import pytest

import kzmig.studies.data as data_mod
from kzmig.features.data.dataset import load_long
from kzmig.studies.data import open_data


@pytest.fixture(scope="module")
def source():
    return open_data(None)


@pytest.mark.parametrize("view, borders", [("current", None), ("harmonised", 2018), ("harmonised", 2022)])
def test_each_view_is_load_long_of_the_observations(source, view, borders):
    pd.testing.assert_frame_equal(source.long(view, borders), load_long(view, borders, observations=source.observations))


def test_a_view_is_derived_once_and_a_changed_copy_changes_nothing(source, monkeypatch):
    fresh = open_data(source)  # the same DataSource: open_data returns it
    assert fresh is source
    calls = []
    real = data_mod.load_long
    monkeypatch.setattr(data_mod, "load_long", lambda *a, **k: calls.append(a) or real(*a, **k))
    own = data_mod.DataSource(source.observations, "test")
    first = own.long("harmonised", 2018)
    first["value"] = -1.0  # a study changing its copy
    second = own.long("harmonised", 2018)
    own.long("current")
    assert calls == [("harmonised", 2018), ("current", None)]
    assert (second["value"] != -1.0).any()
    pd.testing.assert_frame_equal(second, load_long("harmonised", 2018, observations=source.observations))
