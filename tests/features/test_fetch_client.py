"""The HTTP client: retries with backoff on time-outs and transient statuses, a fast offline error,
HTTP errors named, a User-Agent, redirects followed. httpx.MockTransport stands in for the network
(no request leaves the machine) and backoff=0 (no test sleeps)."""
from __future__ import annotations

import httpx
import pytest

from kzmig.features.ingest.fetch.client import FetchClient, FetchError, OfflineError

URL = "https://stat.gov.kz/api/iblock/element/6584/csv/file/ru/"


class Counting:
    """A handler that answers from a script of responses (or exceptions) and counts the calls."""

    def __init__(self, *script):
        self.script, self.calls, self.requests = list(script), 0, []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        self.requests.append(request)
        item = self.script[min(self.calls, len(self.script)) - 1]
        if isinstance(item, Exception):
            raise item
        return item


def client(handler, attempts=3) -> FetchClient:
    return FetchClient(transport=httpx.MockTransport(handler), attempts=attempts, backoff=0)


def test_user_agent_redirect_and_body():
    h = Counting(httpx.Response(302, headers={"location": "https://stat.gov.kz/upload/6584.csv"}),
                 httpx.Response(200, content=b"\xef\xbb\xbfNAM\tVAL\n", headers={"content-type": "text/csv"}))
    with client(h) as c:
        r = c.get(URL)
    assert r.body == b"\xef\xbb\xbfNAM\tVAL\n" and r.final_url == "https://stat.gov.kz/upload/6584.csv"
    assert r.status == 200 and r.content_type == "text/csv"
    assert h.requests[0].headers["user-agent"].startswith("kzmig/")
    import hashlib
    assert r.sha256 == hashlib.sha256(r.body).hexdigest()


def test_timeouts_are_set():
    c = FetchClient(timeout=12, connect_timeout=4)
    t = c._client.timeout
    assert (t.connect, t.read, t.write, t.pool) == (4, 12, 12, 12)
    c.close()


def test_transient_status_is_retried_then_succeeds():
    h = Counting(httpx.Response(503), httpx.Response(200, content=b"ok"))
    with client(h) as c:
        assert c.get(URL).body == b"ok"
    assert h.calls == 2


def test_http_500_after_every_attempt_is_an_error_naming_url_and_attempts():
    h = Counting(httpx.Response(500))
    with client(h, attempts=3) as c, pytest.raises(FetchError, match=r"6584/csv/file/ru/: HTTP 500 .* after 3 attempt"):
        c.get(URL)
    assert h.calls == 3


def test_not_found_is_not_retried():
    h = Counting(httpx.Response(404))
    with client(h) as c, pytest.raises(FetchError, match=r"HTTP 404"):
        c.get(URL)
    assert h.calls == 1


def test_timeout_is_retried_then_reported():
    h = Counting(httpx.ReadTimeout("read timed out"))
    with client(h, attempts=4) as c, pytest.raises(FetchError, match=r"timed out \(ReadTimeout\) after 4 attempt"):
        c.get(URL)
    assert h.calls == 4


def test_timeout_then_success():
    h = Counting(httpx.ReadTimeout("slow"), httpx.Response(200, content=b"ok"))
    with client(h) as c:
        assert c.get(URL).body == b"ok"
    assert h.calls == 2


def test_offline_fails_at_once_without_retrying():
    h = Counting(httpx.ConnectError("[Errno -2] Name or service not known"))
    with client(h, attempts=5) as c, pytest.raises(OfflineError, match=r"cannot connect to stat.gov.kz .*no network"):
        c.get(URL)
    assert h.calls == 1


def test_query_parameters_are_sent_and_named_in_errors():
    h = Counting(httpx.Response(500))
    url = "https://taldau.stat.gov.kz/ru/Api/GetIndexData/702972"
    with client(h, attempts=1) as c, pytest.raises(FetchError, match=r"702972\?period=7&dics=68%2C859"):
        c.get(url, {"period": "7", "dics": "68,859"})
    assert h.requests[0].url.params["dics"] == "68,859"


def test_attempts_must_be_positive():
    with pytest.raises(ValueError, match="attempts=0"):
        FetchClient(attempts=0)


def test_connect_timeout_is_offline_without_retrying():
    h = Counting(httpx.ConnectTimeout("timed out"))
    with client(h, attempts=5) as c, pytest.raises(OfflineError, match=r"ConnectTimeout.*no network"):
        c.get(URL)
    assert h.calls == 1
