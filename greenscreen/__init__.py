"""greenscreen: turn a webcam recording before a green bedsheet and a screen recording into a
finished tutorial video."""

__version__ = "0.1.0"
