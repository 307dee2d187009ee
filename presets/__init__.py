"""Built-in presets, installed with the package as ``greenscreen.builtin_presets``."""
