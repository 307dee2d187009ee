"""``greenscreen key``: key an image or a video into RGBA (PNG, PNG folder, WebM VP9, ProRes 4444)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import cv2
import numpy as np

from greenscreen.frames import check_bgr, to_rgba8
from greenscreen.key import Keyer, KeySettings
from greenscreen.key.plate import plate_from_frames

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_OUTPUTS = {".webm", ".mov"}


def is_image(path: Path) -> bool:
    """True if ``path`` names a still image (by its suffix)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _frames(path: Path) -> Iterator[tuple[float, np.ndarray]]:
    """(seconds, BGR uint8 frame) for every frame of a video, in display order."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield (float(frame.time or 0.0), frame.to_ndarray(format="bgr24"))


def read_image(path: Path) -> np.ndarray:
    """Read an image file as BGR uint8 (alpha, if any, dropped)."""
    data = np.fromfile(str(path), np.uint8)  # np.fromfile + imdecode copes with non-ASCII paths
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise ValueError(f"cannot read image {path}")
    return image


def load_plate(path: Path | None) -> np.ndarray | None:
    """Load a clean plate: an image of the empty sheet, or the median of a short empty-sheet video."""
    if path is None:
        return None
    if is_image(path):
        return read_image(path)
    return plate_from_frames(frame for _, frame in _frames(path))


def _write_png(path: Path, rgba_bgra: np.ndarray) -> None:
    """Write a BGRA uint8 PNG atomically (temp file in the same folder, then rename)."""
    ok, buf = cv2.imencode(".png", rgba_bgra)
    if not ok:
        raise ValueError(f"cannot encode PNG for {path}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".partial.png", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buf.tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def key_image(
    path: Path, out: Path, settings: KeySettings | None = None, plate: Path | np.ndarray | None = None
) -> None:
    """Key one image into an RGBA PNG with straight alpha and despilled colour."""
    frame = read_image(Path(path))
    plate_img = plate if isinstance(plate, np.ndarray) or plate is None else load_plate(Path(plate))
    result = Keyer(settings, plate=plate_img).key(frame)
    _write_png(Path(out), to_rgba8(result.foreground, result.alpha))


def key_video(
    path: Path,
    out: Path,
    settings: KeySettings | None = None,
    plate: Path | np.ndarray | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Key every frame of a video.

    ``out`` is a folder (created if needed) of ``NNNNNN.png`` RGBA frames, or a ``.webm``
    (VP9 with alpha) or ``.mov`` (ProRes 4444 with alpha) video. Returns the number of frames.
    ``progress`` is called with the running frame count.
    """
    out = Path(out)
    plate_img = plate if isinstance(plate, np.ndarray) or plate is None else load_plate(Path(plate))
    keyer = Keyer(settings, plate=plate_img)
    suffix = out.suffix.lower()
    if suffix in VIDEO_OUTPUTS:
        return _key_to_video(Path(path), out, keyer, progress)
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for _, frame in _frames(Path(path)):
        result = keyer.key(frame)
        _write_png(out / f"{count:06d}.png", to_rgba8(result.foreground, result.alpha))
        count += 1
        if progress:
            progress(count)
    return count


def _key_to_video(path: Path, out: Path, keyer: Keyer, progress: Callable[[int], None] | None) -> int:
    """Encode keyed frames into a video with alpha, written atomically."""
    with av.open(str(path)) as src:
        rate = src.streams.video[0].average_rate or 30
    if out.suffix.lower() == ".webm":
        codec, pix_fmt, options = "libvpx-vp9", "yuva420p", {"crf": "20", "b": "0", "row-mt": "1"}
    else:
        codec, pix_fmt, options = "prores_ks", "yuva444p10le", {"profile": "4", "alpha_bits": "16"}
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=f".partial{out.suffix}", dir=out.parent)
    os.close(fd)
    count = 0
    try:
        with av.open(tmp, "w") as container:
            stream = None
            for _, frame in _frames(path):
                result = keyer.key(frame)
                rgba = cv2.cvtColor(to_rgba8(result.foreground, result.alpha), cv2.COLOR_BGRA2RGBA)
                if stream is None:
                    stream = container.add_stream(codec, rate=rate, options=options)
                    stream.width, stream.height = rgba.shape[1] & ~1, rgba.shape[0] & ~1
                    stream.pix_fmt = pix_fmt
                rgba = rgba[: stream.height, : stream.width]
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgba), format="rgba")
                container.mux(stream.encode(vf))
                count += 1
                if progress:
                    progress(count)
            if stream is not None:
                container.mux(stream.encode(None))
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count
