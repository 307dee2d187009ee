"""Captions drawn into the picture: with the package's font, at their times, beside the speaker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import cards
from conftest import decode_frames, pip_box, run_cli
from greenscreen.composite.captions import MAX_CHARS, CaptionBurner
from greenscreen.io.captions import Cue
from greenscreen.io.yuv import frame_planes, new_frame
from greenscreen.text import font, missing_characters, render_lines, text_width, wrap

SIZE = (640, 360)
SRT = (
    "1\n00:00:00,500 --> 00:00:01,200\nÜbung: „Passwort ändern“ – 5 €\n\n"
    "2\n00:00:01,600 --> 00:00:02,000\nZweiter Teil\n"
)


def test_umlauts_and_german_punctuation_have_their_own_glyphs() -> None:
    face = font(40)
    pairs = [("Ä", "A"), ("ö", "o"), ("ß", "B"), ("„", ","), ("€", "E")]
    for accented, plain in pairs:
        a = render_lines([accented], face).alpha
        b = render_lines([plain], face).alpha
        assert a.shape != b.shape or np.abs(a - b).sum() > 5, accented  # not a missing-glyph box
    # The umlaut's dots sit above the letter: ink in rows where plain A has none.
    a, b = render_lines(["Ä"], face).alpha, render_lines(["A"], face).alpha
    top_a = np.flatnonzero(a.max(axis=1) > 0.5)[0]
    top_b = np.flatnonzero(b.max(axis=1) > 0.5)[0]
    assert top_a < top_b


def test_greek_and_cyrillic_are_drawn_and_missing_letters_are_named() -> None:
    """A colleague's name in Cyrillic or Greek is drawn; what the font has no glyph for
    (Chinese, emoji) is named, and left out rather than drawn as a gap."""
    face = font(40)
    for word in ("Привет", "ΣΩ", "Łódź", "Nguyễn"):
        assert render_lines([word], face).alpha.max() > 0.9, word
    assert missing_characters(["Łódź → ✓ 😀 Привет 中文 Ω", "Ω 中"]) == "😀中文"
    assert missing_characters(["Grüße „aus“ Köln – 5 €"]) == ""
    import unicodedata

    for word in ("Dvořák", "Ångström"):  # as macOS spells them: letters + combining marks
        decomposed = unicodedata.normalize("NFD", word)
        assert missing_characters([decomposed]) == ""
        assert np.array_equal(render_lines([decomposed], face).alpha, render_lines([word], face).alpha)
    assert text_width("Hallo 😀 Welt", face) == text_width("Hallo Welt", face)
    assert np.array_equal(render_lines(["Hallo 中文 Welt"], face).alpha, render_lines(["Hallo Welt"], face).alpha)


def test_long_captions_wrap_into_two_readable_lines() -> None:
    text = "Klicken Sie oben rechts auf Ihr Profilbild und wählen Sie dann Einstellungen aus"
    lines = wrap(text, font(36), 10_000, max_chars=MAX_CHARS)
    assert len(lines) == 2 and all(len(line) <= MAX_CHARS for line in lines)
    assert " ".join(lines) == text


def test_burner_moves_beside_or_above_the_speaker() -> None:
    cue = [Cue(0.0, 1.0, "Hallo")]
    frame = new_frame(*SIZE)
    planes = frame_planes(frame)
    for box in [(440, 200, 180, 140), (20, 200, 180, 140), (0, 180, 640, 180), None]:
        for plane, value in zip(planes, (16, 128, 128)):
            plane[...] = value
        CaptionBurner(cue, SIZE, avoid=box, matrix="bt601").draw(0.5, planes)
        ys, xs = np.nonzero(planes[0] > 100)  # the white text
        assert ys.size > 50
        if box is not None and box[2] < SIZE[0]:
            x, y, w, h = box
            inside = (xs >= x) & (xs < x + w) & (ys >= y) & (ys < y + h)
            assert not inside.any(), box
        if box == (0, 180, 640, 180):
            assert ys.max() < 180  # the whole bottom half is taken: captions go to the top


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("burn")
    speaker = cards.write_clip(d / "speaker.mp4", cards.flat((320, 180), cards.SHEET), seconds=2.4,
                               sound=cards.beeps([0.3], tone=500))
    screen = cards.write_clip(d / "screen.mp4", cards.flat(SIZE, cards.BLUE), seconds=2.4)
    return speaker, screen


def test_burned_captions_show_at_their_times_and_never_under_the_speaker(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    speaker, screen = pair
    captions = tmp_path / "talk.srt"
    captions.write_text(SRT, encoding="utf-8")
    out = tmp_path / "out.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--captions", captions, "--burn-captions",
            "--offset", "0.2")
    x, y, w, h = pip_box(SIZE, (320, 180))
    background = decode_frames(out)[0][1]  # no caption at 0 s
    for t, frame in decode_frames(out):
        bright = frame.min(axis=2) > 180  # white text on a blue screen and a dark box
        shown = (0.7 <= t < 1.4) or (1.8 <= t < 2.2)  # cue times moved by the 0.2 s offset
        if abs(t - 0.7) < 0.02 or abs(t - 1.4) < 0.02 or abs(t - 1.8) < 0.02 or abs(t - 2.2) < 0.02:
            continue  # frames on a cue's edge are allowed either way (rounding)
        assert bright.sum() > (200 if shown else -1) and (shown or bright.sum() == 0), t
        assert not bright[y : y + h, x : x + w].any(), t
        if shown:
            rows = np.flatnonzero(bright.any(axis=1))
            assert rows.min() > SIZE[1] // 2  # near the bottom, beside the speaker
        else:
            assert float(np.abs(frame.astype(int) - background.astype(int)).max()) < 40, t


def test_burn_captions_needs_captions(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "x.mp4", "--burn-captions", check=False)
    assert proc.returncode == 2 and "--captions" in proc.stderr


def test_render_names_the_letters_it_cannot_draw(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    captions = tmp_path / "c.srt"
    captions.write_text("1\n00:00:00,500 --> 00:00:01,200\nДобрий день 😀\n", encoding="utf-8")
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "x.mp4", "-q", "--captions", captions,
                   "--burn-captions", "--title-card", "Willkommen 中文")
    warning = [line for line in proc.stderr.splitlines() if "font has no letters" in line]
    assert len(warning) == 1 and "😀" in warning[0] and "中" in warning[0] and "Д" not in warning[0]
    assert "title card" in warning[0] and "captions" in warning[0]
    # With a speaker intro the title card is drawn into the plan: named all the same.
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "y.mp4", "-q", "--title-card", "Hallo 😀",
                   "--speaker-intro", "true", "--card-seconds", "1")
    assert any("font has no letters" in line and "😀" in line and "title card" in line for line in proc.stderr.splitlines())


def _burned(cues: list[Cue], t: float) -> np.ndarray:
    frame = new_frame(*SIZE)
    planes = frame_planes(frame)
    for plane, value in zip(planes, (16, 128, 128)):
        plane[...] = value
    CaptionBurner(cues, SIZE, avoid=None, matrix="bt601").draw(t, planes)
    return planes[0].copy()


def test_markup_is_not_drawn() -> None:
    marked = _burned([Cue(0.0, 1.0, "<i>Hallo</i> &amp; <font color=\"red\">mehr</font>")], 0.5)
    assert np.array_equal(marked, _burned([Cue(0.0, 1.0, "Hallo & mehr")], 0.5))


def test_a_long_cue_is_shown_two_lines_at_a_time() -> None:
    """A three-line cue of long lines, and a cue overlapping it, were drawn on four and five
    lines, over half the picture. Subtitlers split such a cue; the burner shows it two lines at
    a time, in turn, and a second voice at once, a line each."""
    long = Cue(0.0, 4.0, "Klicken Sie oben rechts auf Ihr Profilbild und dann\n"
                         "auf Einstellungen, dort finden Sie den Punkt Sicherheit\nund darunter das Passwort")
    ascent, descent = font(round(SIZE[1] * 0.05)).getmetrics()
    height = 2.5 * (ascent + descent) * 1.25  # the ink of two lines, well short of three
    alone = [_burned([long], t) for t in np.arange(0.0, 4.0, 0.1)]
    for y in alone:
        assert np.ptp(np.flatnonzero((y > 40).any(axis=1))) <= height
    # Its pages in turn, each shown once: the whole text, never a page again.
    changes = [k for k in range(1, len(alone)) if not np.array_equal(alone[k], alone[k - 1])]
    assert len(changes) >= 1
    pages = [alone[0]] + [alone[k] for k in changes]
    assert all(not np.array_equal(a, b) for i, a in enumerate(pages) for b in pages[i + 1 :])
    # A second voice from 2.0 s shows from its first frame on, and the two keep to two lines.
    voice = Cue(2.0, 3.0, "Zweite Stimme: ja, genau so")
    for t in (2.04, 2.5, 2.96):
        both = _burned([long, voice], t)
        assert np.ptp(np.flatnonzero((both > 40).any(axis=1))) <= height, t
        assert not np.array_equal(both, _burned([long], t)), t
        assert not np.array_equal(both, _burned([voice], t)), t
    # A cue that runs a moment into the next (as speech-to-text tools write them) gives way to
    # it: the next shows alone, at full size, as without the overlap.
    first, second = Cue(0.0, 2.05, "Erster Satz aus der Spracherkennung"), Cue(2.0, 4.0, "Zweiter Satz")
    assert np.array_equal(_burned([first, second], 2.02), _burned([second], 2.02))
    assert np.array_equal(_burned([first, second], 1.0), _burned([first], 1.0))
