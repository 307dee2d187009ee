"""Run a producer on a background thread into a bounded queue.

Decoding (PyAV) and OpenCV both release the GIL, so overlapping decode with keying and encoding
uses the second core; the bounded queue keeps memory flat however long the clip is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


class Prefetch(Iterator[T]):
    """Iterate ``source`` on a daemon thread, ``maxsize`` items ahead of the consumer.

    An exception raised by the producer is re-raised in the consumer. :meth:`close` stops the
    producer early (e.g. when the render fails or the output has enough frames) and sets
    ``stop``: a producer that works long between two items (a pass over a whole soundtrack) is
    given the same event to watch.
    """

    def __init__(
        self, source: Iterable[T], maxsize: int = 4, name: str = "prefetch", stop: threading.Event | None = None
    ):
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._stop = stop or threading.Event()
        self._source = source
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._finished = False
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._source:
                if not self._put(item):
                    break
            self._put(_DONE)
        except BaseException as exc:  # handed to the consumer thread
            self._put(exc)
        finally:
            close_source(self._source)

    def __next__(self) -> T:
        if self._finished:
            raise StopIteration
        item = self._queue.get()
        if item is _DONE:
            self._finished = True
            raise StopIteration
        if isinstance(item, BaseException):
            self._finished = True
            raise item
        return item

    def ready(self) -> bool:
        """Whether ``next()`` would return at once: an item, the end or an error is waiting."""
        return self._finished or not self._queue.empty()

    def close(self) -> None:
        """Stop the producer thread and wait for it to end."""
        self._stop.set()
        self._finished = True
        self._thread.join(timeout=5)


def close_source(frames: Iterator[object]) -> None:
    """Stop a frame source early (a generator holding a decoder, or a :class:`Prefetch`), now
    rather than whenever it is freed."""
    close = getattr(frames, "close", None)
    if close is not None:
        close()
