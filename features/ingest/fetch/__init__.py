"""Fetch the official statistics behind the dataset from the Bureau of National Statistics' APIs.

Two public interfaces (``../shared/data/raw/SOURCES.md``, section API):

* the stat.gov.kz file API, ``GET https://stat.gov.kz/api/iblock/element/{id}/csv/file/ru/``
  (a TSV despite the name) or ``.../json/file/ru/`` (a JSON cube);
* the Taldau index API, ``GET https://taldau.stat.gov.kz/ru/Api/GetIndexData/{id}?period=..&dics=..``
  (JSON, one row per combination of dictionary terms).

Modules: :mod:`.client` (HTTP with timeouts, retries with backoff, a User-Agent and a clear
offline error), :mod:`.catalog` (which table feeds which variable), :mod:`.parse` (the parsers
and the documented defects), :mod:`.replay` (recorded responses, for tests and offline demos),
:mod:`.version` (a new dataset version next to the shipped one) and :mod:`.diff`.
"""
from __future__ import annotations

from pathlib import Path

#: a dataset version folder: the observations file inside it, and its metadata file
VERSION_OBSERVATIONS = Path("processed") / "observations.csv"
VERSION_FILE = "version.json"
