"""``corner = "auto"``: put the speaker where the screen recording is quietest.

A tutorial's screen recording is busy in some places (the menu being clicked, the form being
filled in) and calm in others. The speaker's window should cover a calm corner. A dozen frames
spread over the recording are read small; each corner's activity is how much its picture
changes between them plus how much detail (text) it holds. The corner with the least wins; ties
keep the default, bottom right. A keyed speaker without a window stands on the bottom edge, so
only the bottom corners are candidates for them: cut off at the waist and hung in a top corner,
a torso looks like a mistake.
"""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from greenscreen.composite.layout import CORNERS, LayoutSettings, place_speaker
from greenscreen.io.orientation import pixel_aspect, upright
from greenscreen.io.probe import MediaInfo, open_container, video_stream
from greenscreen.io.reader import frame_to_bgr

SAMPLES = 12
AUTO = "auto"


def corner_activity(frames: list[np.ndarray], layout: LayoutSettings, speaker: tuple[int, int]) -> dict[str, float]:
    """How busy each corner's speaker window would be over ``frames`` (BGR, all one size)."""
    h, w = frames[0].shape[:2]
    grey = np.stack([cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).astype(np.float32) for f in frames])
    change = grey.std(axis=0)
    detail = np.mean([np.abs(cv2.Laplacian(g, cv2.CV_32F)) for g in grey], axis=0)
    activity = change + 0.5 * detail
    scores = {}
    standing = layout.layout == "pip" and layout.window == "none"
    for corner in [c for c in CORNERS if c.startswith("bottom")] if standing else CORNERS:
        p = place_speaker(LayoutSettings(**{**layout.__dict__, "corner": corner}), output=(w, h), speaker=speaker)
        scores[corner] = float(activity[p.y : p.y + p.height, p.x : p.x + p.width].mean())
    return scores


def quiet_corner(
    screen: MediaInfo, layout: LayoutSettings, speaker: tuple[int, int], span: tuple[float, float] | None = None
) -> str:
    """The corner whose speaker window covers the least activity of ``screen`` (over the whole
    recording, or from ``span[0]`` to ``span[1]`` seconds: a segment of it)."""
    width = max(2, min(screen.width, 320) // 2 * 2)
    size = (width, max(2, round(width * screen.height / screen.width) // 2 * 2))
    start, end = span if span is not None else (0.0, screen.duration)
    end = min(end, screen.duration) if screen.duration > 0 else end
    times = [start + (end - start) * (i + 0.5) / SAMPLES for i in range(SAMPLES)]
    frames = sample_frames(Path(screen.path), [screen.file_time(t) for t in times], size)
    if len(frames) < 2:
        return "bottom-right"
    scores = corner_activity(frames, layout, speaker)
    # Near-equal scores (a still screen) keep the usual corner.
    return min(scores, key=lambda c: (round(scores[c], 1), c != "bottom-right"))


def sample_frames(path: Path, times: list[float], size: tuple[int, int]) -> list[np.ndarray]:
    """BGR frames of ``path`` at (about) ``times``, scaled to ``size``: one seek each, so a long
    recording is not decoded through."""
    frames: list[np.ndarray] = []
    container = open_container(path)
    try:
        stream = video_stream(container)
        aspect = pixel_aspect(stream)
        for t in times:
            container.seek(int(t * av.time_base), backward=True)  # in AV_TIME_BASE units: any stream
            for frame in container.decode(stream):
                if frame.time is None or frame.time >= t - 0.05:
                    frames.append(frame_to_bgr(upright(frame, aspect), size))
                    break
    except av.error.FFmpegError:
        pass  # a damaged file: judge by the frames read so far (the render reports the damage)
    finally:
        container.close()
    return frames
