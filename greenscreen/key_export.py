"""Key an image or a video into RGBA: a PNG, a folder of PNGs, WebM VP9 or ProRes 4444 with alpha.

This is what ``greenscreen key`` runs: the same keyer and presets as ``render``, for using the
keyed speaker in other editors.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from greenscreen.errors import OutputError
from greenscreen.frames import to_rgba8
from greenscreen.io.atomic import atomic_dir, atomic_path, check_output_path
from greenscreen.io.probe import probe
from greenscreen.io.reader import read_frames
from greenscreen.io.stills import is_image, load_plate, read_image
from greenscreen.key import Keyer, KeyResult, KeySettings

VIDEO_OUTPUTS = {
    # suffix: (codec, pixel format, options)
    ".webm": ("libvpx-vp9", "yuva420p", {"crf": "20", "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"}),
    ".mov": ("prores_ks", "yuva444p10le", {"profile": "4", "alpha_bits": "16"}),
}


def _keyer(settings: KeySettings | None, plate: Path | np.ndarray | None) -> Keyer:
    if plate is not None and not isinstance(plate, np.ndarray):
        plate = load_plate(Path(plate))
    return Keyer(settings, plate=plate)


def _png_bytes(result: KeyResult) -> bytes:
    ok, buf = cv2.imencode(".png", to_rgba8(result.foreground, result.alpha))
    if not ok:
        raise OutputError("cannot encode PNG")
    return buf.tobytes()


def key_image(
    path: Path, out: Path, settings: KeySettings | None = None, plate: Path | np.ndarray | None = None
) -> None:
    """Key one image into an RGBA PNG with straight alpha and despilled colour."""
    path, out = Path(path), Path(out)
    check_output_path(out, (path,))
    result = _keyer(settings, plate).key(read_image(path))
    data = _png_bytes(result)
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)


def key_video(
    path: Path,
    out: Path,
    settings: KeySettings | None = None,
    plate: Path | np.ndarray | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Key every frame of a video and return the number of frames.

    ``out`` is a ``.webm`` (VP9 with alpha) or ``.mov`` (ProRes 4444 with alpha) video, or else a
    folder of ``NNNNNN.png`` RGBA frames. Written atomically either way. ``progress`` is called as
    ``progress(frames_done, frames_expected)``.
    """
    path, out = Path(path), Path(out)
    info = probe(path)
    expected = max(round(info.duration * float(info.fps)), 1)
    keyer = _keyer(settings, plate)
    if out.suffix.lower() in VIDEO_OUTPUTS:
        check_output_path(out, (path,))
        with atomic_path(out) as tmp:
            return _encode_with_alpha(path, tmp, out.suffix.lower(), info.fps, keyer, expected, progress)
    check_output_path(out / "000000.png", (path,)) if out.is_dir() else check_output_path(out, (path,))
    with atomic_dir(out) as folder:
        count = 0
        for _, frame in read_frames(path):
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
    expected: int,
    progress: Callable[[int, int], None] | None,
) -> int:
    codec, pix_fmt, options = VIDEO_OUTPUTS[suffix]
    count = 0
    with av.open(str(tmp), "w", format="webm" if suffix == ".webm" else "mov") as container:
        stream = None
        for _, frame in read_frames(path):
            result = keyer.key(frame)
            rgba = cv2.cvtColor(to_rgba8(result.foreground, result.alpha), cv2.COLOR_BGRA2RGBA)
            if stream is None:
                stream = container.add_stream(codec, rate=fps, options=options)
                stream.width, stream.height = rgba.shape[1] & ~1, rgba.shape[0] & ~1
                stream.pix_fmt = pix_fmt
            rgba = np.ascontiguousarray(rgba[: stream.height, : stream.width])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgba, format="rgba")))
            count += 1
            if progress:
                progress(count, expected)
        if stream is not None:
            container.mux(stream.encode(None))
    return count


def key_file(
    path: Path,
    out: Path,
    settings: KeySettings | None = None,
    plate: Path | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Key ``path`` (an image or a video) into ``out``; returns the number of frames keyed."""
    if is_image(Path(path)):
        key_image(path, out, settings, plate)
        return 1
    return key_video(path, out, settings, plate, progress=progress)
