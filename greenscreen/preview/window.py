"""The preview window: the only GUI code. It wires OpenCV HighGUI to :class:`PreviewState`.

Two windows: the picture (click to pick the key colour; keys as listed by ``h``) and a settings
window with the frame slider and one trackbar per slider from the schema. Closing either one
quits, like ``q``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from greenscreen.errors import GreenscreenError, printable
from greenscreen.frames import hex_to_bgr
from greenscreen.preview.state import PreviewState

WINDOW = "greenscreen preview"
CONTROLS = "greenscreen settings"
FRAME_TRACKBAR = "frame"
MAX_DISPLAY = (960, 600)
"""Largest initial size of the picture window (it can be resized; the picture keeps its aspect)."""
CONTROLS_WIDTH = 420

_FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/truetype", "/usr/share/fonts")


def _use_system_fonts() -> None:
    """Point Qt at the system fonts when OpenCV's wheel ships none.

    opencv-python sets ``QT_QPA_FONTDIR`` to a folder inside the wheel that holds no fonts, so
    trackbar captions come out blank; Qt reads the variable when the first window opens.
    """
    current = os.environ.get("QT_QPA_FONTDIR")
    if current and Path(current).is_dir() and any(Path(current).iterdir()):
        return
    for folder in _FONT_DIRS:
        if Path(folder).is_dir():
            os.environ["QT_QPA_FONTDIR"] = folder
            return


def check_display() -> None:
    """Raise a :class:`GreenscreenError` that says what to do when no window can be opened."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise GreenscreenError(
            "the preview needs a display (DISPLAY is not set); run it on your desktop, "
            "or use 'greenscreen render' to make a video"
        )
    gui = [line for line in cv2.getBuildInformation().splitlines() if "GUI:" in line]
    if gui and gui[0].split(":", 1)[1].strip().upper() in ("NONE", "NO", ""):
        raise GreenscreenError(
            "this OpenCV has no window support (opencv-python-headless?); "
            "run 'pip uninstall opencv-python-headless' and 'pip install --force-reinstall opencv-python'"
        )
    if sys.platform.startswith("linux"):
        _check_window_opens()


WINDOW_PROBE = "import cv2; cv2.namedWindow('greenscreen-probe'); cv2.waitKey(1); cv2.destroyAllWindows()"
"""Opens and closes a window: what the preview does first."""
PROBE_ATTEMPTS = 2
"""Tries before the display counts as unreachable."""


def _check_window_opens() -> None:
    """Raise a :class:`GreenscreenError` if no window opens on this display.

    OpenCV's Qt ends the whole process (abort, exit 134, four lines of Qt's own) when the display
    it is given cannot be reached: a stale DISPLAY after an SSH session, an X server that is
    gone, ``sudo`` without the user's X authority. So a child process tries first (about 0.3 s).
    """
    display = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or ""
    reason = ""
    for attempt in range(PROBE_ATTEMPTS):
        if attempt:
            time.sleep(1.0)  # a display server that has only just started (a fresh Xvfb) may not answer yet
        try:
            probe = subprocess.run([sys.executable, "-c", WINDOW_PROBE], capture_output=True, text=True,
                                   errors="replace", timeout=30)
        except subprocess.TimeoutExpired:
            reason = "the display did not answer within 30 s"
            continue
        if probe.returncode == 0:
            return
        said = [line.strip() for line in probe.stderr.splitlines() if "connect to display" in line]
        reason = said[0] if said else f"the window system refused (exit {probe.returncode})"
    raise GreenscreenError(
        f"the preview cannot open a window on the display {display!r} ({reason}); run it on your "
        "desktop, or use 'greenscreen render' to make a video"
    )


def _controls_header(state: PreviewState) -> np.ndarray:
    """The panel above the trackbars: the key colour as a swatch, and every slider's value.

    Qt's trackbar captions show only the integer position, so the real values are listed here.
    """
    lines = [f"{s.label} = {_fmt(getattr(getattr(state.settings, s.group), s.name))}" for s in state.sliders]
    rows = (len(lines) + 1) // 2
    header = np.full((40 + rows * 17, CONTROLS_WIDTH, 3), 236, np.uint8)
    key = state.settings.key.key_color
    header[6:30, 8:40] = hex_to_bgr(key) if key != "auto" else (200, 200, 200)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(header, f"key colour {key}  (click the sheet to pick)", (48, 24), font, 0.45,
                (20, 20, 20), 1, cv2.LINE_AA)
    for i, text in enumerate(lines):
        x, y = 8 + (i // rows) * (CONTROLS_WIDTH // 2), 50 + (i % rows) * 17
        cv2.putText(header, text, (x, y), font, 0.42, (40, 40, 40), 1, cv2.LINE_AA)
    return header


def _fmt(value: object) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def run(state: PreviewState) -> None:
    """Show the preview until the user quits or closes a window."""
    check_display()
    _use_system_fonts()
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        cv2.namedWindow(CONTROLS, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)
    except cv2.error as exc:
        raise GreenscreenError(f"cannot open a window ({str(exc).strip().splitlines()[-1]})") from None
    try:
        _loop(state)
    finally:
        cv2.destroyAllWindows()
        cv2.waitKey(1)  # let HighGUI process the close


def _loop(state: PreviewState) -> None:
    w, h = state.source.output_size
    scale = min(1.0, MAX_DISPLAY[0] / w, MAX_DISPLAY[1] / h)
    header_settings = state.settings
    cv2.imshow(CONTROLS, _controls_header(state))
    # The frame slider lives with the others, so the picture window holds only the picture and
    # a click maps straight to a picture pixel.
    cv2.createTrackbar(FRAME_TRACKBAR, CONTROLS, 0, max(state.frame_count - 1, 1), state.seek)
    for s in state.sliders:
        cv2.createTrackbar(
            s.label, CONTROLS, state.slider_position(s.label), s.count,
            lambda pos, label=s.label: state.set_slider(label, pos),
        )
    cv2.moveWindow(CONTROLS, 0, 0)

    first = state.display()
    cv2.imshow(WINDOW, first)
    cv2.resizeWindow(WINDOW, max(2, round(w * scale)), max(2, round(h * scale)))
    cv2.moveWindow(WINDOW, CONTROLS_WIDTH + 10, 0)

    def on_mouse(event: int, x: int, y: int, flags: int, param: object) -> None:
        if event == cv2.EVENT_LBUTTONDOWN:
            state.click(x, y)

    cv2.setMouseCallback(WINDOW, on_mouse)

    shown: tuple | None = None
    saved = problems = 0
    last_shown = None
    played_frames, played_time = 0, 0.0
    while not state.quit:
        state.tick()
        signature = (state.index, state.settings, state.view, state.show_help, state.message, state.playing)
        if signature != shown:
            now = time.perf_counter()
            cv2.imshow(WINDOW, state.display())
            if state.playing and last_shown is not None and shown is not None and shown[0] != state.index:
                dt = now - last_shown
                played_frames += 1
                played_time += dt
                rate = 1.0 / max(dt, 1e-6)
                state.fps_measured = rate if state.fps_measured == 0 else 0.8 * state.fps_measured + 0.2 * rate
            last_shown = now
            if shown is None or shown[0] != state.index:
                cv2.setTrackbarPos(FRAME_TRACKBAR, CONTROLS, state.index)
            shown = signature
        if state.settings != header_settings:
            header_settings = state.settings
            cv2.imshow(CONTROLS, _controls_header(state))
        key = cv2.waitKeyEx(1 if state.playing else 20)
        state.handle_key(key)
        if len(state.problems) > problems:
            for problem in state.problems[problems:]:
                print(f"warning: {printable(problem)}", file=sys.stderr, flush=True)
            problems = len(state.problems)
        if len(state.saved) > saved:
            saved = len(state.saved)
            print(f"saved preset {state.saved[-1]}", flush=True)
        if _closed(WINDOW) or _closed(CONTROLS):
            break
    if played_frames:
        print(f"preview: {played_frames / played_time:.1f} frames per second while playing", file=sys.stderr)


def _closed(name: str) -> bool:
    try:
        return cv2.getWindowProperty(name, cv2.WND_PROP_VISIBLE) < 1
    except cv2.error:
        return True
