"""The real preview window under Xvfb, driven with xdotool and checked with screenshots.

Needs the ``Xvfb`` and ``xdotool`` programs (``apt-get install xvfb xdotool``; ``.ci/run`` installs
them). Screenshots are grabbed with PyAV's x11grab in a separate process, so no screenshot tool is
needed. PyAV runs apart from OpenCV there because the two wheels bundle clashing copies of libxcb.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

import synthetic
from greenscreen.config import RenderSettings
from greenscreen.preview.sliders import preview_sliders
from greenscreen.preview.source import PreviewSource
from greenscreen.preview.state import PreviewState

pytestmark = pytest.mark.gui

SCREEN_SIZE = (1600, 1000)

GRAB = """
import sys, av, numpy as np
display, width, height, out = sys.argv[1:]
with av.open(display, format="x11grab", options={"video_size": f"{width}x{height}"}) as c:
    frame = next(c.decode(video=0))
    np.save(out, frame.to_ndarray(format="bgr24"))
"""

CLOSE = """
import ctypes, ctypes.util, sys
x11 = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
x11.XOpenDisplay.restype = ctypes.c_void_p
x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
x11.XInternAtom.restype = ctypes.c_ulong
x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
x11.XFlush.argtypes = x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
class Message(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]
class Event(ctypes.Union):
    _fields_ = [("xclient", Message), ("pad", ctypes.c_long * 24)]
dpy = x11.XOpenDisplay(None)
ev = Event()
ev.xclient.type = 33  # ClientMessage
ev.xclient.window = int(sys.argv[1])
ev.xclient.message_type = x11.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
ev.xclient.format = 32
ev.xclient.data[0] = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
x11.XSendEvent(dpy, int(sys.argv[1]), 0, 0, ctypes.byref(ev))
x11.XFlush(dpy)
x11.XCloseDisplay(dpy)
"""


@pytest.fixture(scope="module")
def display() -> Iterator[str]:
    """A private X server (Xvfb on a display number it picks itself)."""
    missing = [p for p in ("Xvfb", "xdotool") if shutil.which(p) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed (apt-get install xvfb xdotool)")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{SCREEN_SIZE[0]}x{SCREEN_SIZE[1]}x24",
         "-nolisten", "tcp"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    # Read up to the newline and keep the pipe open while the server runs: Xvfb writes the
    # number and the newline separately, and dies if the pipe is closed in between.
    text = b""
    deadline = time.monotonic() + 15
    while not text.endswith(b"\n") and time.monotonic() < deadline:
        ready, _, _ = select.select([read_fd], [], [], max(deadline - time.monotonic(), 0))
        chunk = os.read(read_fd, 64) if ready else b""
        if not chunk:
            break
        text += chunk
    number = text.decode().strip()
    if not number or server.poll() is not None:
        server.kill()
        server.wait()
        os.close(read_fd)
        pytest.skip("Xvfb did not start an X server")
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(10)
        os.close(read_fd)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("gui-media")
    speaker = synthetic.write_speaker_clip(d / "speaker.mp4", size=(640, 360), fps=25.0, seconds=2.0, audio=False, seed=21)
    screen = synthetic.write_screen_clip(d / "screen.mp4", size=(1280, 720), fps=25.0, seconds=2.0, seed=22)
    return speaker, screen


class X:
    """xdotool and screenshots on one display."""

    def __init__(self, display: str, shots: Path):
        self.display = display
        self.env = {**os.environ, "DISPLAY": display}
        self.shots = shots

    def xdotool(self, *args: object) -> str:
        proc = subprocess.run(["xdotool", *map(str, args)], capture_output=True, text=True, env=self.env, timeout=30)
        return proc.stdout

    def window(self, title: str, app: subprocess.Popen, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if app.poll() is not None:
                raise AssertionError(f"the preview exited ({app.returncode}) before showing '{title}':\n"
                                     + app.communicate()[1][-3000:])
            found = self.xdotool("search", "--name", f"^{title}$").split()
            if found:
                return int(found[0])
            time.sleep(0.2)
        raise AssertionError(f"no window '{title}' after {timeout} s")

    def geometry(self, window: int) -> tuple[int, int, int, int]:
        values = dict(line.split("=") for line in self.xdotool("getwindowgeometry", "--shell", window).split())
        return int(values["X"]), int(values["Y"]), int(values["WIDTH"]), int(values["HEIGHT"])

    def screenshot(self, name: str) -> np.ndarray:
        out = self.shots / f"{name}.npy"
        subprocess.run([sys.executable, "-c", GRAB, self.display, *map(str, SCREEN_SIZE), out],
                       check=True, env=self.env, timeout=60)
        image = np.load(out)
        cv2.imwrite(str(self.shots / f"{name}.png"), image)  # kept for a look when a test fails
        return image

    def close(self, window: int) -> None:
        """Ask the window to close, as a window manager's close button does."""
        subprocess.run([sys.executable, "-c", CLOSE, str(window)], check=True, env=self.env, timeout=30)


def slider_rows(panel: np.ndarray) -> list[int]:
    """Centre lines of the trackbars in a screenshot of the settings window, top to bottom.

    A trackbar's groove is the only thing that spans the right end of the window in one row
    (captions, values and tick marks do not), so rows fully different from the background there
    are grooves.
    """
    background = panel[2, panel.shape[1] // 2].astype(int)
    strip = panel[:, -40:-10].astype(int)
    full = (np.abs(strip - background).sum(axis=2) > 30).all(axis=1)
    rows: list[list[int]] = []
    for y in np.nonzero(full)[0]:
        if rows and y == rows[-1][-1] + 1:
            rows[-1].append(int(y))
        else:
            rows.append([int(y)])
    return [int(np.mean(r)) for r in rows if 2 <= len(r) <= 8]


def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_preview_window_end_to_end(display: str, clips: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = clips
    config = tmp_path / "config"
    x = X(display, tmp_path)
    app = subprocess.Popen(
        [sys.executable, "-m", "greenscreen", "preview", str(speaker), str(screen)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**x.env, "XDG_CONFIG_HOME": str(config)},
    )
    try:
        picture = x.window("greenscreen preview", app)
        controls = x.window("greenscreen settings", app)

        # What frame 0 must look like: the same state logic, computed here.
        source = PreviewSource.open(speaker, screen, RenderSettings())
        try:
            state = PreviewState(source)
            expected = state.render()
            placement = state.compositor.placement
            pick_at = (placement.x + 10, placement.y + 10)  # the sheet, top-left of the speaker
            expected_key = state.click(*pick_at)
        finally:
            source.close()
        assert expected_key is not None

        geometry: dict[str, tuple[int, int, int, int]] = {}

        def shows_composite() -> bool:
            # The window opens small and is then sized to the frame: wait for both.
            px, py, pw, ph = geometry["picture"] = x.geometry(picture)
            scale = pw / expected.shape[1]
            if abs(ph - expected.shape[0] * scale) > 2 or pw < 400:
                return False
            wanted = cv2.resize(expected, (pw, ph), interpolation=cv2.INTER_AREA).astype(int)
            top = int(40 * scale)  # below the status line
            shot = x.screenshot("composite")[py : py + ph, px : px + pw].astype(int)
            return shot.shape == wanted.shape and float(np.abs(shot[top:] - wanted[top:]).mean()) < 8.0

        wait_until(shows_composite, 30, "the composite of frame 0 (the screen recording with the speaker)")
        px, py, pw, ph = geometry["picture"]
        scale = pw / expected.shape[1]
        top = int(40 * scale)

        # Move a slider: click its groove right of the handle (a page step up).
        labels = ["frame"] + [s.label for s in preview_sliders()]
        panel_rows: dict[str, object] = {}

        def shows_sliders() -> bool:
            # The settings window may still be drawing its trackbars.
            geometry["controls"] = cx, cy, cw, ch = x.geometry(controls)
            rows = panel_rows["rows"] = slider_rows(x.screenshot("settings")[cy : cy + ch, cx : cx + cw])
            return len(rows) == len(labels)

        try:
            wait_until(shows_sliders, 20, "a trackbar for every setting")
        except AssertionError:
            raise AssertionError((panel_rows.get("rows"), labels)) from None
        cx, cy, cw, ch = geometry["controls"]
        rows = panel_rows["rows"]
        assert isinstance(rows, list)
        row = rows[labels.index("tolerance")]
        x.xdotool("mousemove", cx + cw - 14, cy + row, "click", "1")

        # Pick the key colour on the sheet, switch to the matte view, save.
        x.xdotool("mousemove", px + int(pick_at[0] * scale + scale / 2), py + int(pick_at[1] * scale + scale / 2),
                  "click", "1")
        x.xdotool("key", "2")
        matte = {}

        def shows_matte() -> bool:
            shot = x.screenshot("matte")[py : py + ph, px : px + pw].astype(int)[top:]
            matte["shot"] = shot
            spread = np.abs(shot - shot.mean(axis=2, keepdims=True)).max(axis=2)
            return float((spread <= 8).mean()) > 0.99

        wait_until(shows_matte, 20, "the matte view (greys only)")
        grey = matte["shot"].mean(axis=2)
        assert (grey < 40).mean() > 0.3, "the sheet is black in the matte"
        assert (grey > 215).mean() > 0.05, "the speaker is white in the matte"

        x.xdotool("key", "s")
        saved = config / "greenscreen" / "presets" / f"preview-{speaker.stem}.toml"
        wait_until(saved.exists, 20, f"the preset {saved}")
        preset = tomllib.loads(saved.read_text(encoding="utf-8"))
        for _ in range(3):
            if "key_color" in preset["key"] and "tolerance" in preset["key"]:
                break
            # On a loaded machine a click can arrive before its window takes clicks (no window
            # manager under Xvfb): click the slider and pick again, and save again.
            if "tolerance" not in preset["key"]:
                x.xdotool("mousemove", cx + cw - 14, cy + row, "click", "1")
            x.xdotool("mousemove", px + int(pick_at[0] * scale + scale / 2),
                      py + int(pick_at[1] * scale + scale / 2), "click", "1")
            time.sleep(0.5)
            saved.unlink()
            x.xdotool("key", "s")
            wait_until(saved.exists, 20, f"the preset {saved}")
            preset = tomllib.loads(saved.read_text(encoding="utf-8"))
        assert preset["key"]["tolerance"] > RenderSettings().key.tolerance
        got = bytes.fromhex(preset["key"]["key_color"][1:])
        want = bytes.fromhex(expected_key[1:])
        assert max(abs(a - b) for a, b in zip(got, want)) <= 12, (preset["key"]["key_color"], expected_key)
        assert got[1] > max(got[0], got[2]), "a green key colour"

        # Closing the picture window (as a window manager would) ends the preview cleanly.
        x.close(picture)
        out, err = app.communicate(timeout=20)
        assert app.returncode == 0, err
        assert f"saved preset {saved}" in out
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
