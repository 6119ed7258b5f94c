"""The HTTP client of the fetcher: httpx with timeouts, a User-Agent and retries with backoff (tenacity).

* A connection that cannot be opened (no DNS, no route, refused, or not within the connect
  time-out) is not retried: it raises :class:`OfflineError` at once, so ``kzmig data fetch``
  without network fails fast (at most ``connect_timeout`` seconds, where packets are dropped).
* Read, write and pool time-outs and the transient statuses 429, 500, 502, 503, 504 are retried ``attempts`` times
  with exponential backoff (``backoff`` seconds times 1, 2, 4 ..., capped at 30 s); then a
  :class:`FetchError` names the URL, the status or the time-out, and the number of attempts.
* Other HTTP errors (404, 403 ...) raise :class:`FetchError` at once.

Tests pass an ``httpx.MockTransport`` (:mod:`kzmig.features.ingest.fetch.replay`) and ``backoff=0``:
no network, no sleeping.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx
import tenacity

from kzmig.core.errors import ConfigError, DataError

logger = logging.getLogger(__name__)

#: statuses worth another attempt (rate limit, server busy or failing)
TRANSIENT = frozenset({429, 500, 502, 503, 504})


def user_agent() -> str:
    from kzmig import __version__

    return f"kzmig/{__version__} (regional migration forecasting toolkit; python-httpx)"


class FetchError(DataError):
    """A table could not be downloaded (HTTP error, time-out): names the URL and what happened."""


class OfflineError(FetchError):
    """No connection could be opened to the statistics site (no network, or the site is unreachable)."""


@dataclass(frozen=True)
class Response:
    """A downloaded body with where it came from (the requested and the final URL after redirects)."""

    url: str
    final_url: str
    status: int
    content_type: str
    body: bytes = field(repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


class _Transient(Exception):
    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class FetchClient:
    """GET with timeouts, retries and a User-Agent.

    Parameters
    ----------
    timeout : float, default 30
        Seconds to wait for a response (read, write, pool).
    connect_timeout : float, default 10
        Seconds to wait for a connection to open.
    attempts : int, default 4
        Tries per request for time-outs and transient statuses.
    backoff : float, default 1
        First wait between attempts in seconds (doubling; 0 = no wait, for tests).
    transport : httpx.BaseTransport, optional
        E.g. an ``httpx.MockTransport`` replaying recorded responses.
    """

    def __init__(self, *, timeout: float = 30.0, connect_timeout: float = 10.0, attempts: int = 4,
                 backoff: float = 1.0, transport: httpx.BaseTransport | None = None):
        if attempts < 1:
            raise ConfigError(f"attempts={attempts}; give at least 1.")
        self.timeout, self.attempts, self.backoff = timeout, attempts, backoff
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=connect_timeout), follow_redirects=True,
            headers={"User-Agent": user_agent(), "Accept": "*/*"}, transport=transport,
        )

    def __enter__(self) -> FetchClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _wait(self) -> tenacity.wait.wait_base:
        if self.backoff <= 0:
            return tenacity.wait_none()
        return tenacity.wait_exponential(multiplier=self.backoff, max=30)

    def _once(self, url: str, params: dict[str, str] | None) -> httpx.Response:
        response = self._client.get(url, params=params)
        if response.status_code in TRANSIENT:
            raise _Transient(response)
        return response

    def get(self, url: str, params: dict[str, str] | None = None) -> Response:
        """Download ``url`` (following redirects); return the body.

        Raises
        ------
        OfflineError
            The connection could not be opened (not retried).
        FetchError
            Time-out or transient status after ``attempts`` tries, or another HTTP error status.
        """
        full = str(httpx.URL(url, params=params)) if params else url
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.attempts), wait=self._wait(), reraise=True,
            retry=tenacity.retry_if_exception_type((httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout,
                                                    _Transient)),
            before_sleep=lambda rs: logger.warning("%s: attempt %d failed (%s); retrying", full,
                                                   rs.attempt_number, rs.outcome.exception()),
        )
        try:
            response = retrying(self._once, url, params)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            host = httpx.URL(url).host
            raise OfflineError(
                f"cannot connect to {host} ({type(exc).__name__}: {exc}): no network connection, or the site is unreachable from "
                f"this machine. `kzmig data fetch` downloads from stat.gov.kz and taldau.stat.gov.kz and needs "
                "internet access; nothing was written."
            ) from None
        except httpx.TimeoutException as exc:
            raise FetchError(f"{full}: timed out ({type(exc).__name__}) after {self.attempts} attempt(s) with a "
                             f"{self.timeout:g} s time-out; try again later. Nothing was written.") from None
        except _Transient as exc:
            r = exc.response
            raise FetchError(f"{full}: HTTP {r.status_code} {r.reason_phrase} after {self.attempts} attempt(s); "
                             "the server failed or refused the request. Nothing was written.") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{full}: {type(exc).__name__}: {exc}. Nothing was written.") from None
        if response.status_code >= 400:
            raise FetchError(f"{full}: HTTP {response.status_code} {response.reason_phrase}; the table id or "
                             "its parameters may have changed (see SOURCES.md, section API). Nothing was written.")
        return Response(full, str(response.url), response.status_code,
                        response.headers.get("content-type", ""), response.content)
