"""The preview: tune the key live and save the result as a preset.

Only :mod:`greenscreen.preview.window` touches OpenCV's HighGUI; everything else (state, slider
mapping, views, random-access frames) works without a display and is tested without one.
"""
