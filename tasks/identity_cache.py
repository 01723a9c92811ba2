"""A small bounded cache keyed by the identity of the objects a value was derived from.

For values derived from objects that are never changed once built (a deployed version's form schemas, the packaged
region profiles): keyed by `id()`, holding the objects themselves so an id cannot be reused while its entry lives.
Least recently used entries go first once `size` is reached.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class IdentityCache(Generic[T]):
    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[Hashable, ...], tuple[tuple[Any, ...], T]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, sources: tuple[Any, ...], extra: tuple[Hashable, ...], build: Callable[[], T]) -> T:
        """The value built from `sources` (compared by identity) and `extra` (by value), built once."""
        key = (*(id(source) for source in sources), *extra)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[1]
        value = build()
        with self._lock:
            self._entries[key] = (sources, value)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value
