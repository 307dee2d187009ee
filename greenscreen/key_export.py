"""Key an image or a video into RGBA: a PNG, a folder of PNGs, WebM VP9 or ProRes 4444 with alpha.

This is what ``greenscreen key`` runs: the same keyer, presets and garbage-matte crop as
``render``, for using the keyed speaker in other editors. The output has the size of the
cropped frame.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
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
from greenscreen.io.probe import probe
from greenscreen.io.reader import Crop, read_frames
from greenscreen.io.stills import is_image, load_plate, read_image
from greenscreen.key import Keyer, KeyResult, KeySettings

VIDEO_OUTPUTS = {
    # suffix: (codec, pixel format, options)
    ".webm": ("libvpx-vp9", "yuva420p", {"crf": "20", "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"}),
    ".mov": ("prores_ks", "yuva444p10le", {"profile": "4", "alpha_bits": "16"}),
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
    if out.suffix.lower() in VIDEO_OUTPUTS:
        check_output_path(out, sources)
        with atomic_path(out) as tmp:
            return _encode_with_alpha(path, tmp, out.suffix.lower(), info.fps, keyer, crop, expected, progress)
    check_output_path(out / "000000.png" if out.is_dir() else out, sources)
    if not out.is_dir() and os.path.lexists(out) and not is_null_device(out):
        # A folder of frames would replace the file (a typo'd name such as notes.txt, or a
        # video with another extension): never throw away a file to make a folder.
        raise OutputError(
            "is a file; a video keys into a .webm, a .mov or a folder of PNGs: give one of those "
            "or a new folder name",
            out,
        )
    with atomic_dir(out, FRAME_NAME, sources) as folder:
        count = 0
        for _, frame in read_frames(path, crop=crop):
            (folder / f"{count:06d}.png").write_bytes(_png_bytes(keyer.key(frame)))
            count += 1
            if progress:
                progress(count, expected)
    return count


def _encode_with_alpha(
    path: Path,
    tmp: Path,
    suffix: str,
    fps: Fraction,
    keyer: Keyer,
    crop: Crop,
    expected: int,
    progress: Callable[[int, int], None] | None,
) -> int:
    codec, pix_fmt, options = VIDEO_OUTPUTS[suffix]
    count = 0
    with av.open(str(tmp), "w", format="webm" if suffix == ".webm" else "mov") as container:
        stream = None
        for _, frame in read_frames(path, crop=crop):
            result = keyer.key(frame)
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
