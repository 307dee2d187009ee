"""Frames out of an FFmpeg filter graph (PyAV's ``av.filter.Graph``), for audio and video alike."""

from __future__ import annotations

from collections.abc import Iterator

import av.filter


def pulled(graph: av.filter.Graph) -> Iterator[av.AudioFrame | av.VideoFrame]:
    """The frames ``graph`` has ready now; after a ``push(None)``, everything it still held."""
    while True:
        try:
            yield graph.pull()
        except (BlockingIOError, EOFError):  # PyAV's own errors are subclasses of both
            return
