"""greenscreen: turn a webcam recording before a green bedsheet and a screen recording into a
finished tutorial video."""

# OpenCV must be loaded before PyAV: PyAV's wheel bundles its own libxcb, and if it is loaded
# first, OpenCV's Qt window (the preview) picks it up and hangs forever in namedWindow().
import cv2 as _cv2  # noqa: E402,F401  (imported for its side effect on library loading)

__version__ = "0.1.0"
