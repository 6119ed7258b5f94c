"""Replay recorded responses through ``httpx.MockTransport``: the fetcher without a network.

A recordings folder holds the response bodies and ``index.csv`` with columns
``url, status, file, content_type, location``: ``url`` is the full request URL (with its query
string, as httpx encodes it), ``location`` the target of a redirect (status 3xx). A request
that is not in the index gets a 404, like an unknown table on the real site. Used by the tests
(``tests/data/fetch/``) and by ``kzmig data fetch --replay DIR``.
"""
from __future__ import annotations

from pathlib import Path

import httpx
import pandas as pd

from kzmig.core.errors import DataFileError

INDEX = "index.csv"


def recorded_transport(folder: str | Path) -> httpx.MockTransport:
    """A transport that answers each request from ``folder`` (see module docstring)."""
    folder = Path(folder)
    index_path = folder / INDEX
    if not index_path.is_file():
        raise DataFileError(f"--replay {folder}: no {INDEX} (columns url, status, file, content_type, location).")
    index = pd.read_csv(index_path, dtype=str, keep_default_na=False)
    absent = [c for c in ("url", "status", "file", "content_type", "location") if c not in index.columns]
    if absent:
        raise DataFileError(f"{index_path}: missing column(s) {absent}.")
    table = {row["url"]: row for row in index.to_dict("records")}

    def handler(request: httpx.Request) -> httpx.Response:
        row = table.get(str(request.url))
        if row is None:
            return httpx.Response(404, text=f"not recorded: {request.url}")
        status = int(row["status"])
        headers = {"content-type": row["content_type"]} if row["content_type"] else {}
        if row["location"]:
            headers["location"] = row["location"]
        body = (folder / row["file"]).read_bytes() if row["file"] else b""
        return httpx.Response(status, headers=headers, content=body)

    return httpx.MockTransport(handler)
