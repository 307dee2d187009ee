"""Keying: speaker frames in, despilled foreground and alpha out."""

from greenscreen.key.keyer import Keyer, KeyResult
from greenscreen.key.settings import KeySettings

__all__ = ["KeyResult", "Keyer", "KeySettings"]
