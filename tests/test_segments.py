"""Layouts over time: segments, transitions, the PiP window, and the plan they live in.

Renders go through the real command line (in-process where a stand-in keyer makes the speaker's
rectangle exact) and the checks read the pixels of the written file.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

import synthetic
from conftest import run_cli
from greenscreen.cli import main
from greenscreen.composite.layout import LayoutSettings, place_speaker
from greenscreen.config import RenderSettings
from greenscreen.io.reader import read_frames
from greenscreen.key import Keyer, KeyResult
from greenscreen.plan import Segment, Timeline, make_plan

FPS = 30
RED = np.array([40, 40, 220])  # BGR of the stand-in keyer's speaker
BACKGROUND = np.array([0x5F, 0x3A, 0x1F])  # BGR of the default full-layout background #1f3a5f


def _red_key(keyer: Keyer, frame: np.ndarray) -> KeyResult:
    """A stand-in keyer: the whole webcam frame, opaque and red (the layouts, not the key, are tested)."""
    fg = np.empty_like(frame)
    fg[:] = RED
    return KeyResult(fg, np.ones(frame.shape[:2], np.float32))


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("segments")
    return {
        # 4:3 webcam on a 16:9 screen: the full layout leaves the background beside the speaker.
        "speaker": synthetic.write_speaker_clip(d / "speaker.mp4", size=(240, 180), seconds=4.0, seed=3),
        "screen": synthetic.write_screen_clip(d / "screen.mp4", size=(320, 180), seconds=4.0, seed=4),
    }


def _render(args: list[str], monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Render through the command line with the stand-in keyer; the sizes of the frames it keyed."""
    keyed: list[tuple[int, int]] = []

    def key(keyer: Keyer, frame: np.ndarray) -> KeyResult:
        keyed.append((frame.shape[1], frame.shape[0]))
        return _red_key(keyer, frame)

    monkeypatch.setattr(Keyer, "key", key)
    result = CliRunner().invoke(main, ["render", *args, "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return keyed


def _frames(path: Path) -> list[np.ndarray]:
    return [f.astype(int) for _, f in read_frames(path)]


def _near(region: np.ndarray, colour: np.ndarray, tolerance: float = 12) -> bool:
    return float(np.abs(region - colour).mean()) < tolerance


def test_each_segment_shows_its_layout_and_transitions_mix_them(
    recordings: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "segments.mp4"
    keyed = _render([str(recordings["speaker"]), str(recordings["screen"]), "-o", str(out),
             "--segment", "0-1=full",
             "--segment", "1-2=pip,transition=slide,transition_seconds=0.4",
             "--segment", "2-3=screen",
             "--segment", "3-4=pip,size=0.5,corner=top-left,transition=crossfade,transition_seconds=0.4"],
            monkeypatch)
    frames, screens = _frames(out), _frames(recordings["screen"])
    assert len(frames) == 4 * FPS
    pip = place_speaker(LayoutSettings(), output=(320, 180), speaker=(240, 180))
    big = place_speaker(LayoutSettings(size=0.5, corner="top-left"), output=(320, 180), speaker=(240, 180))
    # Each shown webcam frame keyed once, at its layout's size (the larger in a transition);
    # the screen-only second not at all.
    full_size = (240, 180)
    assert keyed == [full_size] * 30 + [full_size] * 12 + [(80, 60)] * 18 + [(120, 90)] * 30

    def inside(frame: np.ndarray, p: object, pad: int = 3) -> np.ndarray:
        return frame[p.y + pad : p.y + p.height - pad, p.x + pad : p.x + p.width - pad]  # type: ignore[attr-defined]

    def outside(frame: np.ndarray, p: object) -> np.ndarray:
        mask = np.ones(frame.shape[:2], bool)
        mask[max(p.y - 3, 0) : p.y + p.height + 3, max(p.x - 3, 0) : p.x + p.width + 3] = False  # type: ignore[attr-defined]
        return frame[mask]

    # full: the speaker full height in the middle, the background beside them, no screen.
    full = frames[15]
    assert _near(full[10:170, 60:260], RED) and _near(full[:, :30], BACKGROUND) and _near(full[:, -30:], BACKGROUND)
    # pip (the slide is over after 12 frames): the speaker in the corner, the screen elsewhere.
    for n in (45, 55):
        assert _near(inside(frames[n], pip), RED) and _near(outside(frames[n], pip), outside(screens[n], pip))
    assert pip.y + pip.height == 180, "a keyed speaker in a bottom corner stands on the bottom edge"
    # slide: the pip layout comes in from the right over the full one, and moves on.
    edges = []
    for n in (31, 34, 37, 40):
        row = frames[n][90, :, :]
        old = np.abs(row - full[90]).mean(axis=1) < 12  # still the full layout
        edges.append(int(np.argmin(old)) if not old.all() else 320)
        assert old[:20].all() and not old[-20:].all()
    assert edges == sorted(edges, reverse=True) and edges[0] - edges[-1] > 100, edges
    # screen: no speaker anywhere.
    for n in (65, 80):
        assert float(np.abs(frames[n] - screens[n]).mean()) < 4
        assert not _near(inside(frames[n], pip), RED, 60)
    # crossfade into the larger top-left pip: the middle frame is half of each.
    middle = frames[90 + 5]  # 12 frames; frame 6 of them is 6/13 of the way
    want = screens[95] * (1 - 6 / 13) + RED * (6 / 13)
    assert float(np.abs(inside(middle, big) - inside(want, big)).mean()) < 8
    apart = float(np.abs(inside(screens[95], big) - RED).mean())
    to_red = float(np.abs(inside(middle, big) - RED).mean())
    to_screen = float(np.abs(inside(middle, big) - inside(screens[95], big)).mean())
    assert 0.3 * apart < to_red < 0.7 * apart and 0.3 * apart < to_screen < 0.7 * apart, (apart, to_red, to_screen)
    # after it, the larger window at its corner.
    assert (big.height, pip.height) == (90, 60) and (big.x, big.y) == (round(0.03 * 180), round(0.03 * 180))
    assert _near(inside(frames[110], big), RED) and _near(outside(frames[110], big), outside(screens[110], big))


def test_rounded_window_has_border_shadow_and_round_corners(
    recordings: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "window.mp4"
    _render([str(recordings["speaker"]), str(recordings["screen"]), "-o", str(out), "--end", "0.5",
             "--window", "rounded", "--border", "2", "--border-color", "#ffffff", "--shadow", "1"], monkeypatch)
    frame, screen = _frames(out)[10], _frames(recordings["screen"])[10]
    p = place_speaker(LayoutSettings(window="rounded"), output=(320, 180), speaker=(240, 180))
    assert p.y + p.height == 180 - round(0.03 * 180), "a window keeps the margin below"
    cx = p.x + p.width // 2
    assert frame[p.y, cx].min() > 200, "white border on the top edge"
    assert _near(frame[p.y + p.height // 2 - 5 : p.y + p.height // 2 + 5, cx - 5 : cx + 5], RED)
    assert frame[p.y, p.x].min() < 150 and frame[p.y + 1, p.x + 1].min() < 150, "the corner is rounded off"
    below = frame[p.y + p.height + 2 : p.y + p.height + 4, cx - 20 : cx + 20]
    assert below.mean() < 0.85 * screen[p.y + p.height + 2 : p.y + p.height + 4, cx - 20 : cx + 20].mean(), "shadow"


def _curtain_clip(path: Path) -> Path:
    """A webcam clip: the empty sheet for the first second, then a yellow-green curtain fills the
    picture's border around a grey speaker (something in front of the sheet, not the sheet)."""
    rng = np.random.default_rng(5)

    def render(t: float) -> np.ndarray:
        f = np.empty((180, 320, 3), np.uint8)
        f[:] = (80, 160, 60)
        if t >= 1.0:
            cv2.ellipse(f, (160, 180), (50, 90), 0, 0, 360, (120, 120, 120), -1)
            ring = np.ones((180, 320), bool)
            ring[36:144, 36:284] = False
            f[ring] = (40, 150, 115)
        return np.clip(f.astype(int) + rng.integers(-3, 4, f.shape), 0, 255).astype(np.uint8)

    return synthetic._write(path, (320, 180), Fraction(30), 2.0, None, render, 18, "veryfast", None, 0)


@pytest.mark.parametrize("segments", [["0-1=pip,size=0.3", "1-2=pip,size=0.9"], ["0-1=pip", "1-2=full"]],
                         ids=["pip-grows", "pip-to-full"])
def test_the_keyer_keeps_what_it_learnt_across_a_size_change(segments: list[str], tmp_path: Path) -> None:
    """The keyer learns the sheet's colour from the first second. When the window then grows, a
    keyer started afresh would take the yellow-green curtain round the picture's border for the
    sheet (it is the greenest thing there) and key it away; the keyer that carries on keeps it
    (part-opaque: it is greenish)."""
    speaker = _curtain_clip(tmp_path / "curtain.mp4")
    screen = synthetic.write_screen_clip(tmp_path / "screen.mp4", size=(640, 360), seconds=2.0, seed=6)
    out = tmp_path / "out.mp4"
    args = [a for s in segments for a in ("--segment", s)]
    run_cli("render", speaker, screen, "-o", out, "--offset", "0", "--loudness", "off", "-q", *args)
    layout = LayoutSettings(layout="pip", size=0.9) if "size=0.9" in segments[1] else LayoutSettings(layout="full")
    p = place_speaker(layout, output=(640, 360), speaker=(320, 180))
    frames, screens = _frames(out), _frames(screen)
    scale = p.width / 320
    ring = np.zeros((p.height, p.width), bool)
    ring[: int(30 * scale)] = True  # the curtain's top band
    frame, shown = frames[45], screens[45]
    region = frame[p.y : p.y + p.height, p.x : p.x + p.width][ring]
    behind = shown[p.y : p.y + p.height, p.x : p.x + p.width][ring]
    if layout.layout == "full":
        behind = np.broadcast_to(BACKGROUND, behind.shape)
    curtain = np.array([40, 150, 115])
    # Keyed away, the band would show what is behind (the screen / background) unchanged.
    assert float(np.abs(region - behind).mean()) > 25
    assert float(np.abs(region - curtain).mean()) < float(np.abs(behind - curtain).mean())


def test_bad_segments_are_named_each_with_its_line(tmp_path: Path) -> None:
    edit = tmp_path / "edit.toml"
    edit.write_text(
        '[[segment]]\n'                    # 1
        'from = 0\n'                       # 2
        'to = "0:02"\n'                    # 3
        'layout = "ful"\n'                 # 4
        '[[segment]]\n'                    # 5
        'from = "0:01"\n'                  # 6
        'to = "0:03"\n'                    # 7
        'layout = "pip"\n'                 # 8
        'transition = "crossfade"\n'       # 9
        'transition_seconds = 1.5\n'       # 10
        '[[segment]]\n'                    # 11
        'from = 1\n'                       # 12
        'to = 2\n'                         # 13
        'layout = "circle"\n'              # 14
        'corner = "bottom-middle"\n',      # 15
        encoding="utf-8",
    )
    root = Path(__file__).resolve().parents[1] / "samples"
    proc = run_cli("render", root / "speaker.mp4", root / "screen.mp4", "--edit", edit, "-o", tmp_path / "x.mp4",
                   check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and not (tmp_path / "x.mp4").exists()
    assert proc.stderr.startswith(f"error: {edit}: 3 problems")
    assert "line 1: [[segment]] layout 'ful' is not one of full, pip, circle, side-by-side, screen " \
           "(did you mean 'full'?)" in proc.stderr
    assert "line 5: [[segment]] transition_seconds must be a number from 0 to 1 s, got 1.5" in proc.stderr
    assert "line 11: [[segment]] corner 'bottom-middle' is not one of" in proc.stderr
    # Overlaps and segments past the recordings' end (known once they are probed), all at once.
    edit.write_text('[[segment]]\nfrom = 0\nto = 3\nlayout = "full"\n'
                    '[[segment]]\nfrom = 7\nto = 30\nlayout = "screen"\n', encoding="utf-8")
    proc = run_cli("render", root / "speaker.mp4", root / "screen.mp4", "--edit", edit, "-o", tmp_path / "x.mp4",
                   "--segment", "2-5=pip", "--segment", "40-50=pip", check=False)
    assert proc.returncode == 1 and not (tmp_path / "x.mp4").exists()
    lines = proc.stderr.splitlines()
    assert lines[0] == "error: 3 problems in the segments", proc.stderr
    assert lines[1].strip() == f"--segment '2-5=pip': segment 0:02.0-0:05.0 overlaps 0:00.0-0:03.0 ({edit}: line 1: [[segment]])"
    assert f"{edit}: line 5: [[segment]] segment 0:07.0-0:30.0 runs past the end of the recordings" in proc.stderr
    assert "--segment '40-50=pip': segment 0:40.0-0:50.0 starts after the recordings end" in proc.stderr
    # On the command line alone a mistake is a usage error, named as the option was given.
    proc = run_cli("render", root / "speaker.mp4", root / "screen.mp4", "-o", tmp_path / "x.mp4",
                   "--segment", "0-2=fulll", check=False)
    assert proc.returncode == 2 and "--segment '0-2=fulll': layout 'fulll' is not one of" in proc.stderr
    assert "(did you mean 'full'?)" in proc.stderr and proc.stderr.count("\n") == 1
    proc = run_cli("render", root / "speaker.mp4", root / "screen.mp4", "-o", tmp_path / "x.mp4",
                   "--segment", "0:00-0:12", check=False)
    assert proc.returncode == 2 and "must be START-END=LAYOUT[,KEY=VALUE...]" in proc.stderr


def test_the_plan_gives_each_frame_its_geometry_and_transition() -> None:
    """Unit view of the plan: shots per segment, transitions in and out, across a cut."""
    timeline = Timeline(Fraction(10), (320, 180), ((0, 40), (50, 100)), recordings_end=10.0)
    segments = [Segment(1.0, 3.0, "screen", transition="crossfade", transition_seconds=0.5),
                Segment(6.0, 8.0, "full", transition="slide", transition_seconds=1.0)]
    plan = make_plan(timeline, RenderSettings(), (320, 180), segments)
    frames = list(plan.frames())
    assert len(frames) == 90 and [f.source for f in frames[38:42]] == [38, 39, 50, 51]
    assert frames[5].shot is plan.default and frames[5].transition is None
    assert frames[10].shot.layout == "screen" and frames[10].transition.kind == "crossfade"  # type: ignore[union-attr]
    assert frames[10].transition.progress == pytest.approx(1 / 6)  # type: ignore[union-attr]
    assert frames[15].transition is None and frames[15].key_size is None, "a screen segment is not keyed"
    # Out of a segment into the settings' layout, with the segment's transition.
    assert frames[30].shot is plan.default and frames[30].transition.previous.layout == "screen"  # type: ignore[union-attr]
    full = plan.frame(60 - 10)  # source 60: output 50 (10 frames cut)
    assert full.source == 60 and full.shot.layout == "full" and full.transition.kind == "slide"  # type: ignore[union-attr]
    assert full.key_size == full.shot.key_size == (320, 180)
    assert plan.speaker_size_at(2.0) == plan.default.key_size and plan.screen_size_at(6.5) == (320, 180)
    # A transition is never longer than the segment it leads into.
    short = make_plan(timeline, RenderSettings(), (320, 180),
                      [Segment(1.0, 1.3, "full", transition="crossfade", transition_seconds=1.0)])
    frames = list(short.frames())
    into = [f.transition.progress for f in frames[10:13]]  # type: ignore[union-attr]
    assert frames[9].transition is None and into == pytest.approx([0.25, 0.5, 0.75])
    assert frames[13].transition.previous.layout == "full" and frames[22].transition is not None  # type: ignore[union-attr]
    assert frames[23].transition is None, "and out of it into the settings' layout, a second long"


def _detail(picture: np.ndarray) -> float:
    """High-frequency energy: mean squared Laplacian of the grey picture."""
    grey = cv2.cvtColor(picture.astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(np.mean(cv2.Laplacian(grey, cv2.CV_32F) ** 2))


def test_redactions_follow_the_screen_through_layout_changes(
    recordings: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A box in the screen recording's pixels stays over the same content when the screen
    shrinks into the side-by-side layout's half, and is unreadable in every layout."""
    x, y, w, h = 20, 30, 120, 60  # the sidebar and the start of the text
    segments = ["--segment", "0-1=pip", "--segment", "1-2=side-by-side", "--segment", "2-3=screen"]
    common = [str(recordings["speaker"]), str(recordings["screen"]), "--end", "3", "--crf", "12", *segments]
    plain, hidden = tmp_path / "plain.mp4", tmp_path / "hidden.mp4"
    _render([*common, "-o", str(plain)], monkeypatch)
    _render([*common, "-o", str(hidden), "--redact", f"{x},{y},{w},{h}"], monkeypatch)
    sbs = place_speaker(LayoutSettings(layout="side-by-side"), output=(320, 180), speaker=(240, 180))
    bx, by, bw, bh = sbs.screen_box  # type: ignore[misc]
    s = bw / 320
    mapped = (bx + int(x * s) + 2, by + int(y * s) + 2, int(w * s) - 4, int(h * s) - 4)
    for n, (rx, ry, rw, rh) in ((15, (x + 2, y + 2, w - 4, h - 4)), (45, mapped), (75, (x + 2, y + 2, w - 4, h - 4))):
        a, b = _frames(plain)[n], _frames(hidden)[n]
        inside = (slice(ry, ry + rh), slice(rx, rx + rw))
        assert _detail(b[inside]) <= 0.1 * _detail(a[inside]), n
        # Beside the box (right of it, same rows) the picture is untouched.
        beside = (slice(ry, ry + rh), slice(rx + rw + 6, rx + rw + 26))
        assert float(np.abs(a[beside] - b[beside]).mean()) < 1.5, n


def test_auto_corner_is_chosen_per_segment(tmp_path: Path) -> None:
    """corner = auto picks, for each segment, the corner where the screen is quiet during it."""
    import cards

    rng = np.random.default_rng(1)
    w, h = 320, 176

    def picture(i: int) -> np.ndarray:  # busy bottom right for the first second, then bottom left
        y = np.full((h, w), 66, np.uint8)
        xs = slice(w - w // 3, w) if i < 25 else slice(0, w // 3)  # 25 fps
        ys = slice(h - h // 3, h)
        y[ys, xs] = rng.integers(30, 230, (h // 3, w // 3), dtype=np.uint8)
        return cards.i420(y, np.full((h, w), 198, np.uint8), np.full((h, w), 117, np.uint8))

    screen = cards.write_clip(tmp_path / "screen.mp4", picture, seconds=2.0)
    speaker = cards.write_clip(tmp_path / "speaker.mp4", cards.marked_speaker((160, 96), (40, 20, 80, 76)), seconds=2.0)
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "out.mp4", "--corner", "auto", "-q",
                   "--segment", "0-1=pip", "--segment", "1-2=circle")
    assert "the speaker goes bottom-left in 0:00.0-0:01.0" in proc.stderr
    assert "the speaker goes bottom-right in 0:01.0-0:02.0" in proc.stderr


def test_full_stands_the_speaker_over_a_background_image(
    recordings: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An image behind the full layout is scaled to cover the frame; a missing one is reported
    before anything is rendered."""
    image = np.zeros((90, 160, 3), np.uint8)
    image[:, :80] = (0, 200, 0)  # green left half, yellow right half
    image[:, 80:] = (0, 220, 220)
    cv2.imwrite(str(tmp_path / "backdrop.png"), image)
    out = tmp_path / "full.mp4"
    _render([str(recordings["speaker"]), str(recordings["screen"]), "-o", str(out), "--end", "1",
             "--segment", "0-1=full", "--background", str(tmp_path / "backdrop.png")], monkeypatch)
    frame = _frames(out)[10]
    assert _near(frame[:, :30], np.array([0, 200, 0])) and _near(frame[:, -30:], np.array([0, 220, 220]))
    assert _near(frame[10:170, 60:260], RED)
    proc = run_cli("render", recordings["speaker"], recordings["screen"], "-o", tmp_path / "x.mp4",
                   "--segment", "0-1=full", "--background", tmp_path / "missing.png", check=False)
    assert proc.returncode == 1 and proc.stderr == f"error: {tmp_path / 'missing.png'}: file not found\n"
    assert not (tmp_path / "x.mp4").exists()
