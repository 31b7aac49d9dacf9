"""Django's Redis cache, with one `redis.Redis` per connection pool instead of one per call.

Django's client builds a new `redis.Redis` for every get and set (its constructor fills a
table of about 170 response callbacks): two or three per logged-in request here, for the
session and the cached user (issue 18). A `redis.Redis` is safe to share between threads
(each command takes a connection from the pool) and after a fork (the pool notices the
new process id and opens its own connections), so one per pool is kept and reused.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedClients(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClients
