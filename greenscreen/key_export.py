"""Key an image or a video into RGBA: a PNG, a folder of PNGs, WebM VP9 or ProRes 4444 with alpha.

This is what ``greenscreen key`` runs: the same keyer, presets and garbage-matte crop as
``render``, for using the keyed speaker in other editors. The output has the size of the
cropped frame.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from greenscreen.errors import OutputError, SettingsError
from greenscreen.frames import to_rgba8
from greenscreen.io.atomic import (
    atomic_dir,
    atomic_path,
    check_output_path,
    is_null_device,
)
from greenscreen.io.probe import CLOCK_BREAK, probe
from greenscreen.io.reader import Crop, read_frames
from greenscreen.io.stills import IMAGE_SUFFIXES, is_image, load_plate, read_image
from greenscreen.key import Keyer, KeyResult, KeySettings

VIDEO_OUTPUTS = {
    # suffix: (codec, pixel format, options)
    ".webm": ("libvpx-vp9", "yuva420p", {"crf": "20", "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"}),
    ".mov": ("prores_ks", "yuva444p10le", {"profile": "4", "alpha_bits": "16"}),
}

#: Names that promise a media file, which a folder of frames must not be given (the next program
#: to open ``out.mp4`` would find a folder). MP4 and the rest cannot carry the alpha channel.
MEDIA_SUFFIXES = IMAGE_SUFFIXES | {
    ".mp4", ".m4v", ".mkv", ".avi", ".gif", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".wmv", ".flv", ".mxf",
    ".3gp", ".ogv", ".apng", ".exr",
}

FRAME_NAME = re.compile(r"\d{6,}\.png")
"""The frames a folder output holds (``000000.png`` on): an earlier key into the same folder,
which a new one may replace."""


def _keyer(settings: KeySettings | None, plate: Path | np.ndarray | None, crop: Crop) -> Keyer:
    # A plate given as a file is cropped like the frames; an array is taken as it is.
    if plate is not None and not isinstance(plate, np.ndarray):
        plate = load_plate(Path(plate), crop)
    return Keyer(settings, plate=plate)


def _crop_box(crop: Crop, width: int, height: int, path: Path) -> tuple[int, int, int, int]:
    try:
        return crop.box(width, height)
    except ValueError as exc:
        raise SettingsError(str(exc), path) from None  # exit 2, as render


def _png_bytes(result: KeyResult) -> bytes:
    ok, buf = cv2.imencode(".png", to_rgba8(result.foreground, result.alpha))
    if not ok:
        raise OutputError("cannot encode PNG")
    return buf.tobytes()


def key_image(
    path: Path,
    out: Path,
    settings: KeySettings | None = None,
    plate: Path | np.ndarray | None = None,
    *,
    crop: Crop = Crop(),
) -> None:
    """Key one image, cut by ``crop`` first, into an RGBA PNG with straight alpha and despilled
    colour."""
    path, out = Path(path), Path(out)
    if out.suffix.lower() != ".png" and not is_null_device(out):
        # A PNG under another name breaks the program it is meant for (a .jpg has no alpha).
        raise OutputError("an image keys into an RGBA .png: give a name ending in .png", out)
    check_output_path(out, _sources(path, plate))
    image = read_image(path)
    x0, y0, x1, y1 = _crop_box(crop, image.shape[1], image.shape[0], path)
    image = np.ascontiguousarray(image[y0:y1, x0:x1])
    result = _keyer(settings, plate, crop).key(image)
    data = _png_bytes(result)
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)


def _sources(path: Path, plate: Path | np.ndarray | None) -> tuple[Path, ...]:
    """The files the output must never overwrite: the input, and the plate if it is a file."""
    return (path,) if plate is None or isinstance(plate, np.ndarray) else (path, Path(plate))


def key_video(
    path: Path,
    out: Path,
    settings: KeySettings | None = None,
    plate: Path | np.ndarray | None = None,
    *,
    crop: Crop = Crop(),
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Key every frame of a video, cut by ``crop`` first, and return the number of frames.

    ``out`` is a ``.webm`` (VP9 with alpha) or ``.mov`` (ProRes 4444 with alpha) video, or else a
    folder of ``NNNNNN.png`` RGBA frames. Written atomically either way. ``progress`` is called as
    ``progress(frames_done, frames_expected)``.
    """
    path, out = Path(path), Path(out)
    info = probe(path)
    _crop_box(crop, info.width, info.height, path)
    expected = max(round(info.duration * float(info.fps)), 1)
    keyer = _keyer(settings, plate, crop)
    sources = _sources(path, plate)
    # Keyed once per decoded frame, written at the recording's constant rate: a webcam that
    # dropped frames (variable rate) would otherwise come out shorter, drifting from its sound.
    keyed = on_frame_grid(((t, keyer.key(frame)) for t, frame in read_frames(path, crop=crop)), info.fps)
    if out.suffix.lower() in VIDEO_OUTPUTS:
        check_output_path(out, sources)
        with atomic_path(out) as tmp:
            return _encode_with_alpha(keyed, tmp, out.suffix.lower(), info.fps, expected, progress)
    check_output_path(out / "000000.png" if out.is_dir() else out, sources)
    if not out.is_dir() and not is_null_device(out) and (os.path.lexists(out) or out.suffix.lower() in MEDIA_SUFFIXES):
        # A folder of frames would replace the file (a typo'd name such as notes.txt, or a
        # video with another extension), or be named like a file (out.mp4): never throw away
        # a file to make a folder, nor make a folder that programs will take for a video.
        what = "is a file" if os.path.lexists(out) else f"names a {out.suffix} file, which cannot hold transparency"
        raise OutputError(
            f"{what}; a video keys into a .webm, a .mov or a folder of PNGs: give one of those "
            "or a new folder name",
            out,
        )
    with atomic_dir(out, FRAME_NAME, sources) as folder:
        count = 0
        for result in keyed:
            (folder / f"{count:06d}.png").write_bytes(_png_bytes(result))
            count += 1
            if progress:
                progress(count, expected)
    return count


def on_frame_grid(items: Iterable[tuple[float, KeyResult]], fps: Fraction) -> Iterator[KeyResult]:
    """``items`` (timestamped, in order, the first at 0) at a constant ``fps``: output frame
    ``n`` is the newest item at or before ``n / fps`` (to the nearest frame). A gap (dropped
    frames) is filled by repeating the item before it; items closer together than a frame
    give way to the newest. A jump of more than :data:`CLOCK_BREAK` seconds, or back by more
    than a frame, is closed up.
    A recording at a constant rate comes out frame for frame as it is."""
    n = 0  # output frames so far
    shift = 0  # slots taken out by closed-up jumps
    pending: KeyResult | None = None
    for t, item in items:
        slot = round(t * float(fps)) - shift
        after = n + (pending is not None)  # the next free slot: the pending item takes slot n
        if slot - after > CLOCK_BREAK * float(fps) or slot < after - 1:
            # A jump ahead or back (a clock reset): the clock broke, not the frames.
            shift += slot - after
            slot = after
        while pending is not None and n < slot:
            yield pending
            n += 1
        pending = item
    if pending is not None:
        yield pending


def _encode_with_alpha(
    keyed: Iterable[KeyResult],
    tmp: Path,
    suffix: str,
    fps: Fraction,
    expected: int,
    progress: Callable[[int, int], None] | None,
) -> int:
    codec, pix_fmt, options = VIDEO_OUTPUTS[suffix]
    count = 0
    with av.open(str(tmp), "w", format="webm" if suffix == ".webm" else "mov") as container:
        stream = None
        for result in keyed:
            rgba = cv2.cvtColor(to_rgba8(result.foreground, result.alpha), cv2.COLOR_BGRA2RGBA)
            if stream is None:
                stream = container.add_stream(codec, rate=fps, options=options)
                # Even sizes for the 4:2:0 (VP9) and 4:2:2-style (ProRes) encoders, at least 2x2:
                # an odd edge is cut off, a 1-pixel picture has its pixel repeated.
                stream.width = max(rgba.shape[1] & ~1, 2)
                stream.height = max(rgba.shape[0] & ~1, 2)
                stream.pix_fmt = pix_fmt
            rgba = _fit(rgba, stream.width, stream.height)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgba, format="rgba")))
            count += 1
            if progress:
                progress(count, expected)
        if stream is not None:
            container.mux(stream.encode(None))
    return count


def _fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """``image`` cut or edge-extended to ``width`` x ``height`` (contiguous)."""
    h, w = image.shape[:2]
    if w < width or h < height:
        image = cv2.copyMakeBorder(image, 0, max(height - h, 0), 0, max(width - w, 0), cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(image[:height, :width])


def key_file(
    path: Path,
    out: Path,
    settings: KeySettings | None = None,
    plate: Path | None = None,
    *,
    crop: Crop = Crop(),
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Key ``path`` (an image or a video), cut by ``crop`` first, into ``out``; returns the
    number of frames keyed."""
    if is_image(Path(path)):
        key_image(path, out, settings, plate, crop=crop)
        return 1
    return key_video(path, out, settings, plate, crop=crop, progress=progress)
