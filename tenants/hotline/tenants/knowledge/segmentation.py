"""jieba tokenizers: one default dictionary per process, one overlay per city.

Loading jieba's dictionary takes about a second, so the base tokenizer is built
lazily, once, off the event loop. A city's tokenizer shares the base frequency
table through a ``ChainMap`` whose first map holds only the city's own words, so a
city costs kilobytes, not a copy of 350,000 entries. City tokenizers are cached by
tenant and by the version of its word list (count and newest id), which every
caller reads from the database: a change made by another process is seen at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import warnings
from collections import ChainMap
from collections.abc import Awaitable, Callable, Sequence

# jieba 0.42 has regex literals with invalid escapes: compiling its sources warns
# (DeprecationWarning before Python 3.12, SyntaxWarning since), and our test suite
# turns warnings into errors. Nothing we can change in jieba.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    warnings.simplefilter("ignore", SyntaxWarning)
    import jieba
    from jieba import Tokenizer as Tokenizer

jieba.setLogLevel(logging.WARNING)

_lock = threading.Lock()
_base: Tokenizer | None = None


def _load_base() -> Tokenizer:
    global _base
    with _lock:
        if _base is None:
            tokenizer = Tokenizer()
            tokenizer.initialize()
            _base = tokenizer
    return _base


def base_loaded() -> bool:
    """Whether jieba's dictionary is in memory (the process warmed up or searched)."""
    return _base is not None


def city_loaded(tenant_id: int) -> bool:
    """Whether the city's own dictionary is layered and cached."""
    return tenant_id in _cities


def forget() -> None:
    """Drop every loaded dictionary: the state of a process that has just started."""
    global _base
    with _lock:
        _base = None
    _cities.clear()


async def base_tokenizer() -> Tokenizer:
    """The default-dictionary tokenizer, loaded in a thread on first use."""
    return _base if _base is not None else await asyncio.to_thread(_load_base)


def _overlay(base: Tokenizer, words: Sequence[tuple[str, int | None]]) -> Tokenizer:
    tokenizer = Tokenizer()
    tokenizer.FREQ = ChainMap({}, base.FREQ)
    tokenizer.total = base.total
    tokenizer.initialized = True
    for word, freq in words:
        tokenizer.add_word(word, freq)
    return tokenizer


_cities: dict[int, tuple[tuple[int, int], Tokenizer]] = {}


async def city_tokenizer(
    tenant_id: int,
    version: tuple[int, int],
    load_words: Callable[[], Awaitable[Sequence[tuple[str, int | None]]]],
) -> Tokenizer:
    """The city's tokenizer for this word-list version (count, newest id); the base one
    when the city has no words. ``load_words`` runs only when the cache is stale."""
    base = await base_tokenizer()
    if version[0] == 0:
        _cities.pop(tenant_id, None)
        return base
    cached = _cities.get(tenant_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    tokenizer = _overlay(base, await load_words())
    _cities[tenant_id] = (version, tokenizer)
    return tokenizer


def cut_for_search(tokenizer: Tokenizer, text: str) -> list[str]:
    return list(tokenizer.cut_for_search(text))
