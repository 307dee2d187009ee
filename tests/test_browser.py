"""The rendered clip plays in a real browser: headless Chromium, driven over the DevTools protocol.

Browsers are the strictest players a tutorial meets (an intranet page with ``<video>`` and a
``<track>`` for the captions). Chromium is Debian's package (``.ci/run`` installs it); the page is
served from localhost, since a browser loads ``<track>`` files only from the page's own origin.
"""

from __future__ import annotations

import fcntl
import functools
import http.server
import json
import os
import select
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli

ROOT = Path(__file__).resolve().parents[1]
# Debian's /usr/bin/chromium is a shell script that loses the debugging pipe; run the browser itself.
CHROMIUM = next(
    (str(p) for p in (Path("/usr/lib/chromium/chromium"),) if p.exists()),
    shutil.which("chromium") or shutil.which("chromium-browser"),
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"),
]

PAGE = """<!doctype html>
<meta charset="utf-8">
<video src="tutorial.mp4" preload="auto" muted playsinline>
  <track kind="captions" src="tutorial.vtt" srclang="de" label="Deutsch" default>
</video>
"""

PLAY = """(async () => {
  const v = document.querySelector("video");
  const track = v.textTracks[0];
  track.mode = "hidden";  // loads the cues without drawing them
  await new Promise((ok, fail) => {
    if (v.readyState >= 1) return ok();
    v.addEventListener("loadedmetadata", ok);
    v.addEventListener("error", () => fail(new Error("video error " + (v.error && v.error.code))));
  });
  v.playbackRate = 2;
  await v.play();
  await new Promise((ok) => v.addEventListener("ended", ok));
  for (let i = 0; i < 50 && !(track.cues && track.cues.length); i++) await new Promise((ok) => setTimeout(ok, 100));
  const quality = v.getVideoPlaybackQuality();
  return {
    duration: v.duration, width: v.videoWidth, height: v.videoHeight, time: v.currentTime,
    ended: v.ended, frames: quality.totalVideoFrames, error: v.error && v.error.code,
    cues: track.cues ? Array.from(track.cues, (c) => [c.startTime, c.endTime, c.text]) : null,
  };
})()"""


def _above(fd: int, lowest: int) -> int:
    """``fd`` moved to a number of at least ``lowest``."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD, lowest)
    os.close(fd)
    return moved


class DevTools:
    """A Chromium started with ``--remote-debugging-pipe``: JSON messages, NUL-separated, on fds 3/4."""

    def __init__(self, profile: Path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The browser's ends must not sit on fds 3 or 4 themselves, or the shell's moves clash.
        to_browser_r, from_browser_w = (_above(fd, 10) for fd in (to_browser_r, from_browser_w))
        flags = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
        ]
        # The pipe must arrive as fds 3 and 4; bash moves it there (dash takes no fd above 9).
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self.process = subprocess.Popen(
            ["bash", "-c", script, str(CHROMIUM), *flags], pass_fds=(to_browser_r, from_browser_w),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next_id = 0
        self._events: list[str] = []

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout: float = 60.0) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        reply = self._receive(lambda m: m.get("id") == self._next_id, method, timeout)
        if "error" in reply:
            raise AssertionError(f"{method}: {reply['error']}")
        return reply["result"]

    def wait_for(self, event: str, *, timeout: float = 60.0) -> None:
        """Wait until the browser has sent ``event`` (e.g. ``Page.loadEventFired``)."""
        if event not in self._events:
            self._receive(lambda m: m.get("method") == event, event, timeout)

    def _receive(self, wanted: Any, what: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self._events.append(message["method"])
                if wanted(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise TimeoutError(f"Chromium did not answer {what} within {timeout:g} s")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise AssertionError("Chromium closed the DevTools pipe")
            self._buffer += chunk

    def close(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)
        os.close(self._to_browser)
        os.close(self._from_browser)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    site = tmp_path / "site"
    site.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_rendered_sample_plays_to_the_end_with_captions_in_chromium(
    served: tuple[Path, str], tmp_path: Path
) -> None:
    site, url = served
    captions = tmp_path / "talk.de.srt"
    captions.write_text(
        "1\n00:00:00,500 --> 00:00:02,500\nGrüß Gott – „Passwort ändern“\n\n"
        "2\n00:00:03,000 --> 00:00:05,000\nZweiter Satz\n",
        encoding="utf-8",
    )
    run_cli("render", ROOT / "samples" / "speaker.mp4", ROOT / "samples" / "screen.mp4",
            "-o", site / "tutorial.mp4", "-q", "-p", "intranet-720p", "--captions", captions)
    (site / "index.html").write_text(PAGE, encoding="utf-8")

    browser = DevTools(tmp_path / "profile")
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        browser.call("Page.enable", session=session)
        browser.call("Page.navigate", {"url": url + "index.html"}, session=session)
        browser.wait_for("Page.loadEventFired")
        result = browser.call(
            "Runtime.evaluate", {"expression": PLAY, "awaitPromise": True, "returnByValue": True},
            session=session, timeout=120,
        )
    finally:
        browser.close()
    assert "exceptionDetails" not in result, result
    played = result["result"]["value"]
    assert played["error"] is None
    assert abs(played["duration"] - 8.0) < 0.1
    assert (played["width"], played["height"]) == (1280, 720)
    assert played["ended"] and abs(played["time"] - played["duration"]) < 0.1
    assert played["frames"] >= 100  # frames were decoded and presented, not just the clock run
    assert played["cues"] == [[0.5, 2.5, "Grüß Gott – „Passwort ändern“"], [3.0, 5.0, "Zweiter Satz"]]
