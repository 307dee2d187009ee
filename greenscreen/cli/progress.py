"""The terminal progress bar (frames done, fps, ETA), fed by the library's progress callback."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tqdm import tqdm


class ProgressBar:
    """A context manager whose :meth:`update` matches :data:`greenscreen.pipeline.ProgressCallback`."""

    def __init__(self, *, enabled: bool = True, label: str = "", position: int | None = None):
        self._enabled = enabled
        self._label = label
        self._position = position
        self._bar: tqdm | None = None

    def __enter__(self) -> ProgressBar:
        return self

    def update(self, done: int, total: int) -> None:
        """Show ``done`` of ``total`` frames."""
        if not self._enabled:
            return
        if self._bar is None:
            from tqdm import tqdm  # only when a bar is drawn: its import costs ~40 ms

            self._bar = tqdm(
                total=total, desc=self._label, unit="frame", position=self._position,
                dynamic_ncols=True, leave=True, smoothing=0.1,
                disable=None,  # no bar when stderr is not a terminal (logs, CI)
            )
        self._bar.update(done - self._bar.n)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.close()
