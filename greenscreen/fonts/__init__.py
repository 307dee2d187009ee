"""The fonts greenscreen draws text with (see LICENSE in this folder)."""
