"""Still images: read a photo (e.g. of the empty sheet) as a BGR frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from greenscreen.errors import MediaError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"})


def is_image(path: Path) -> bool:
    """True if ``path`` names a still image (by its suffix)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: Path) -> np.ndarray:
    """Read an image file as BGR uint8 ``(H, W, 3)``; alpha, if any, is dropped.

    Raises :class:`MediaError` naming the file if it is missing or not a readable image.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError("file not found", path)
    # fromfile + imdecode, because cv2.imread cannot open non-ASCII paths on every platform.
    data = np.fromfile(str(path), np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise MediaError("not a readable image", path)
    return image
