"""Still images: a photo as a BGR frame, and the clean plate (one image of the empty sheet)
from either a photo or a short clip."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from greenscreen.errors import MediaError, SettingsError
from greenscreen.io.files import check_input_file, os_reason
from greenscreen.io.probe import probe
from greenscreen.io.reader import Crop, read_frames
from greenscreen.key.plate import plate_from_frames

PLATE_SECONDS = 3.0
"""How much of an empty-sheet clip goes into the plate."""

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


def is_image(path: Path) -> bool:
    """True if ``path`` names a still image (by its suffix)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: Path) -> np.ndarray:
    """Read an image file as BGR uint8 ``(H, W, 3)``; alpha, if any, is dropped.

    Raises :class:`MediaError` naming the file if it is missing or not a readable image.
    """
    return _decode(Path(path), cv2.IMREAD_COLOR)


def read_image_with_alpha(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an image file (a logo) as BGR uint8 ``(H, W, 3)`` and alpha float32 ``(H, W)``;
    an image without alpha is opaque. Raises :class:`MediaError` as :func:`read_image` does."""
    image = _decode(Path(path), cv2.IMREAD_UNCHANGED)
    if image.dtype != np.uint8:  # 16-bit PNGs
        image = (image.astype(np.float32) * (255.0 / np.iinfo(image.dtype).max) + 0.5).astype(np.uint8)
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return np.ascontiguousarray(image[..., :3]), image[..., 3].astype(np.float32) / 255.0
    return np.ascontiguousarray(image[..., :3]), np.ones(image.shape[:2], np.float32)


def _decode(path: Path, flags: int) -> np.ndarray:
    check_input_file(path, what="image")
    # fromfile + imdecode, because cv2.imread cannot open non-ASCII paths on every platform.
    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError as exc:
        raise MediaError(os_reason(exc), path) from None
    if not data.size:
        raise MediaError("file is empty (0 bytes), expected an image", path)
    # OpenCV's decoders print their complaints about a broken file themselves ("[ERROR:0@0.2]
    # ... readHeader"); the one-line message below says it for the user.
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        image = cv2.imdecode(data, flags)
    except cv2.error:  # e.g. a header declaring a picture too large to decode
        image = None
    finally:
        cv2.utils.logging.setLogLevel(level)
    if image is None:
        raise MediaError("not a readable image", path)
    return image


def load_plate(path: Path, crop: Crop = Crop()) -> np.ndarray:
    """Read an empty-sheet capture (a photo, or the first seconds of a clip) as one BGR image,
    cropped like the speaker so the two line up pixel for pixel."""
    path = Path(path)
    if is_image(path):
        image = read_image(path)
        try:
            x0, y0, x1, y1 = crop.box(image.shape[1], image.shape[0])
        except ValueError as exc:
            raise SettingsError(str(exc), path) from None
        return np.ascontiguousarray(image[y0:y1, x0:x1])
    info = probe(path)
    try:
        crop.box(info.width, info.height)
    except ValueError as exc:
        raise SettingsError(str(exc), path) from None
    frames = read_frames(path, crop=crop)
    try:
        return plate_from_frames(f for t, f in frames if t < PLATE_SECONDS)
    finally:
        frames.close()
