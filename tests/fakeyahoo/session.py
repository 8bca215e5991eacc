"""The client side: a curl_cffi session aimed at the fake, and yfinance's state reset."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from stackcast.pipeline.data.yahoo import YahooSession


class FakeYahooSession(YahooSession):
    """A curl_cffi session sending every ``*.yahoo.com`` request to ``base_url`` instead."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host == "yahoo.com" or host.endswith(".yahoo.com"):
            base = urlsplit(self.base_url)
            url = urlunsplit((base.scheme, base.netloc, parts.path or "/", parts.query, ""))
            headers = dict(kwargs.pop("headers", None) or {})
            headers["X-Fake-Host"] = host
            kwargs["headers"] = headers
        return super().request(method, url, *args, **kwargs)


def reset_yfinance_state(cache_dir: Path | None = None) -> None:
    """Forget everything yfinance keeps between calls in this process.

    The sqlite tz/cookie/ISIN caches (moved to ``cache_dir`` when given), the ``YfData``
    singleton (and with it the session, cookie and crumb), its ``lru_cache`` of responses, the
    tz-from-info fallback counter, ``download()``'s shared dicts, and stackcast's default session.
    """
    import stackcast.pipeline.data.yahoo as pyahoo
    import yfinance.base as yf_base
    import yfinance.cache as yf_cache
    import yfinance.shared as yf_shared
    from yfinance.data import SingletonMeta, YfData

    for manager in (yf_cache._TzDBManager, yf_cache._CookieDBManager, yf_cache._ISINDBManager):
        manager.close_db()
        manager._db = None
        if cache_dir is not None:
            manager._cache_dir = str(cache_dir)
    yf_cache._TzCacheManager._tz_cache = None
    yf_cache._CookieCacheManager._Cookie_cache = None
    yf_cache._ISINCacheManager._isin_cache = None
    with SingletonMeta._lock:
        SingletonMeta._instances.pop(YfData, None)
    YfData.cache_get.cache_clear()
    yf_base._tz_info_fetch_ctr = 0
    for shared in (yf_shared._DFS, yf_shared._ERRORS, yf_shared._TRACEBACKS, yf_shared._ISINS):
        shared.clear()
    pyahoo._default_session = None
    pyahoo._forget_last_response()
