"""Title and outro cards: their pictures, their length, and the sound and captions after them."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import cards
from conftest import decode_frames, run_cli, streams_of
from greenscreen.title_cards import CardSettings, card_picture
from greenscreen.io.captions import read_captions

SIZE = (320, 176)  # the cards helper wants heights in multiples of 4
NAVY = (95, 58, 31)  # BGR of the default card background "#1f3a5f"


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("cards")
    speaker = cards.write_clip(d / "speaker.mp4", cards.flat((160, 96), cards.SHEET), seconds=2.0,
                               sound=cards.beeps([0.5], tone=700))
    screen = cards.write_clip(d / "screen.mp4", cards.flat(SIZE, cards.RED), seconds=2.0)
    return speaker, screen


def test_card_text_is_drawn_centred_with_its_umlauts() -> None:
    settings = CardSettings()
    with_umlaut = card_picture((640, 360), "Öffnungszeiten", "", settings)
    without = card_picture((640, 360), "Offnungszeiten", "", settings)
    text = np.abs(with_umlaut.astype(int) - np.array(NAVY)).max(axis=2) > 100
    ys, xs = np.nonzero(text)
    assert abs((xs.min() + xs.max()) / 2 - 320) <= 4 and abs((ys.min() + ys.max()) / 2 - 180) <= 12
    differs = np.abs(with_umlaut.astype(int) - without.astype(int)).max(axis=2) > 100
    assert differs.any() and ys.min() < np.nonzero(np.abs(without.astype(int) - np.array(NAVY)).max(axis=2) > 100)[0].min()
    long = card_picture((640, 360), "Wie Sie Ihr Passwort im Intranet der Stadtverwaltung ändern", "IT", settings)
    rows = np.flatnonzero((np.abs(long.astype(int) - np.array(NAVY)).max(axis=2) > 100).any(axis=1))
    assert rows.size and np.abs(long.astype(int) - np.array(NAVY)).max(axis=2)[:, :40].max() < 100  # wrapped, margins kept


def test_cards_open_and_close_the_clip_silently(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    captions = tmp_path / "c.srt"
    captions.write_text("1\n00:00:00,400 --> 00:00:01,000\nHallo\n", encoding="utf-8")
    out = tmp_path / "out.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--title-card", "Grüße aus dem Büro",
            "--subtitle", "Teil 1", "--outro", "Danke!", "--card-seconds", "1", "--card-fade", "0.2",
            "--captions", captions, "--poster", "true", "--loudness", "off")
    info = streams_of(out)
    assert info["frames"] == 25 + 50 + 25
    frames = decode_frames(out)
    def navy_share(frame: np.ndarray) -> float:
        return float((np.abs(frame.astype(int) - np.array(NAVY)).max(axis=2) < 12).mean())
    assert navy_share(frames[0][1]) < 0.2  # faded in from black
    assert navy_share(frames[12][1]) > 0.8 and navy_share(frames[87][1]) > 0.8
    assert navy_share(frames[40][1]) < 0.01  # the tutorial itself in between
    assert float(frames[12][1].max()) > 200  # white title text
    # The speaker's beep at 0.5 s is heard at 1.5 s: after the title card, in sync.
    sound = cards.sound_of(out)
    assert cards.beep_onsets(sound, threshold=0.1) == pytest.approx([1.5], abs=0.01)
    assert np.abs(sound[: 48_000]).max() < 1e-3 and np.abs(sound[int(3.05 * 48_000):]).max() < 1e-3
    assert [(c.start, c.end) for c in read_captions(out.with_suffix(".vtt"))] == [(1.4, 2.0)]
    with av.open(str(out)) as container:
        assert container.metadata.get("title") == "Grüße aus dem Büro"
    poster = cv2.imread(str(out.with_suffix(".jpg")))
    assert navy_share(poster) > 0.8  # the title card is the poster


def test_no_text_no_card(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    out = tmp_path / "plain.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--card-seconds", "2")
    assert streams_of(out)["frames"] == 50


def test_cards_take_a_background_picture_and_the_logo(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """--card-image covers the card (veiled, so the text keeps its contrast) and --logo stands
    above the title, on the title and the outro card alike."""
    speaker, screen = pair
    picture = np.zeros((90, 160, 3), np.uint8)
    picture[:, :80] = (0, 0, 255)  # red left half, green right half (BGR)
    picture[:, 80:] = (0, 255, 0)
    image = tmp_path / "Hintergrund.png"
    cv2.imwrite(str(image), picture)
    logo = np.zeros((40, 40, 4), np.uint8)
    logo[..., :3] = (255, 255, 0)  # cyan, opaque inside a transparent ring
    logo[5:35, 5:35, 3] = 255
    logo_path = tmp_path / "logo.png"
    cv2.imwrite(str(logo_path), logo)
    out = tmp_path / "out.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--title-card", "Willkommen", "--outro", "Tschüss",
            "--card-seconds", "1", "--card-fade", "0", "--card-image", image, "--logo", logo_path,
            "--loudness", "off")
    frames = decode_frames(out)
    for card in (frames[10][1], frames[-10][1]):
        h, w = card.shape[:2]
        left, right = card[h // 8 : h // 4, : w // 6].reshape(-1, 3).mean(0), card[h // 8 : h // 4, -w // 6 :].reshape(-1, 3).mean(0)
        # Red shows through on the left, green on the right, both veiled by the navy colour.
        assert left[2] > left[1] + 40 and right[1] > right[2] + 40, (left, right)
        assert left[2] < 200 and right[1] < 200
        cyan = (card[..., 0] > 170) & (card[..., 1] > 170) & (card[..., 2] < 90)
        ys, xs = np.nonzero(cyan)
        text = (card.min(axis=2) > 200)  # the white title
        assert cyan.sum() > 100 and text.sum() > 50
        assert ys.max() < np.nonzero(text)[0].min()  # the logo above the title
        assert abs((xs.min() + xs.max()) / 2 - w / 2) <= 4  # and centred


@pytest.mark.parametrize("background", [(), ("--background", "screen")])
def test_speaker_intro_stands_the_speaker_on_the_title_card(tmp_path: Path, background: tuple[str, ...]) -> None:
    """--speaker-intro: the title card covers the recordings' first seconds, with the keyed
    speaker standing on its right and the title on its left; the sound plays from the start (no
    card in front), the title is the first chapter, and the card crossfades into the tutorial.
    The card is the card whatever the layouts' background (``screen`` was refused)."""
    speaker = cards.write_clip(tmp_path / "speaker.mp4", cards.marked_speaker((160, 96), (60, 30, 110, 96)),
                               seconds=3.0, sound=cards.beeps([0.5], tone=700))
    screen = cards.write_clip(tmp_path / "screen.mp4", cards.flat(SIZE, cards.RED), seconds=3.0)
    out = tmp_path / "out.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--title-card", "Grüße", "--speaker-intro", "true",
            "--card-seconds", "1.5", "--card-fade", "0.4", "--crop", "50,0,15,0", "--loudness", "off",
            "--chapter", "2 Los geht's", *background)
    assert streams_of(out)["frames"] == 75  # the recordings' 3 s and nothing more
    frames = decode_frames(out)
    card = frames[20][1].astype(int)
    h, w = card.shape[:2]
    navy = np.abs(card - np.array(NAVY)).max(axis=2) < 12
    assert navy[:, : w // 2].mean() > 0.8 and card[:, : w // 2].min(axis=2).max() > 200  # title on the left
    grey = np.abs(card - 150).max(axis=2) < 20  # the speaker's grey body, keyed, bottom right
    ys, xs = np.nonzero(grey[:, w // 2 :])
    assert ys.size > 500 and ys.max() == h - 1  # standing on the bottom edge
    assert navy[:, w // 2 :].mean() > 0.4  # the sheet around them keyed away: the card shows
    def screen_share(frame: np.ndarray) -> float:
        """How far the top-left corner has gone from the card's navy to the screen recording."""
        corner, start, end = (f[:20, :20].reshape(-1, 3).mean(0) for f in (frame, card, frames[-1][1]))
        return float(np.dot(corner - start, end - start) / np.dot(end - start, end - start))

    assert screen_share(frames[20][1]) == pytest.approx(0, abs=0.02)
    assert 0.3 < screen_share(frames[42][1]) < 0.7  # halfway through the 0.4 s crossfade at 1.5 s
    assert screen_share(frames[50][1]) == pytest.approx(1, abs=0.02)
    sound = cards.sound_of(out)
    assert cards.beep_onsets(sound, threshold=0.1) == pytest.approx([0.5], abs=0.01)  # in sync, not delayed
    with av.open(str(out)) as container:
        assert [(c["start"] * float(c["time_base"]), c["metadata"]["title"]) for c in container.chapters()] == [
            (0.0, "Grüße"), (2.0, "Los geht's")]


@pytest.mark.parametrize(("args", "says"), [
    (("--subtitle", "Teil 1"), "cards.subtitle needs a title"),
    (("--speaker-intro", "true"), "cards.speaker (the speaker intro) needs a title card"),
])
def test_a_card_without_text_is_refused(pair: tuple[Path, Path], tmp_path: Path, args: tuple[str, ...], says: str) -> None:
    speaker, screen = pair
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "x.mp4", *args, check=False)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and says in proc.stderr
    assert proc.stderr.count("\n") == 1 and not list(tmp_path.iterdir())


def test_an_edit_files_subtitle_stands_under_the_command_lines_title(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    edit = tmp_path / "edit.toml"
    edit.write_text('[cards]\nsubtitle = "Teil 1"\nseconds = 1\n', encoding="utf-8")
    # A command line that turns the speaker intro off asks for no card: the subtitle's file is named.
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "x.mp4", "--edit", edit, "--speaker-intro", "false",
                   check=False)
    assert proc.returncode == 2
    assert proc.stderr == f"error: {edit}: line 2: [cards] cards.subtitle needs a title to stand under " \
                          "(--title-card / [cards] title)\n"
    run_cli("render", speaker, screen, "-o", tmp_path / "x.mp4", "--edit", edit, "--title-card", "Willkommen")
    with av.open(str(tmp_path / "x.mp4")) as out, av.open(str(screen)) as recording:
        card = (out.duration - recording.duration) / av.time_base
    assert card == pytest.approx(1.0, abs=0.05)  # the title card came before the recordings


def test_a_title_too_long_for_the_card_is_made_smaller_not_cut_off() -> None:
    """One long German compound ran off both sides of the card; a sentence of them took more
    lines than the card has."""
    size = (640, 360)
    background = np.array([0x5F, 0x3A, 0x1F])  # the default card background #1f3a5f, BGR
    for title in ("Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichenhersteller",
                  " ".join(["Dienstanweisung zur Bearbeitung"] * 6),
                  "Donaudampfschifffahrtsgesellschaftskapitänsmützenabzeichenhersteller " * 20):
        picture = card_picture(size, title, "Amt für Informationstechnik", CardSettings())
        ink = np.abs(picture.astype(int) - background).max(axis=2) > 60
        columns, rows = np.flatnonzero(ink.any(axis=0)), np.flatnonzero(ink.any(axis=1))
        assert columns.min() > 0.05 * size[0] and columns.max() < 0.95 * size[0], title
        assert rows.min() > 0.05 * size[1] and rows.max() < 0.95 * size[1], title
        shortened: list[str] = []
        card_picture(size, title, "Amt für Informationstechnik", CardSettings(), shortened=shortened)
        assert shortened == ([title] if title.count(" ") > 10 else []), title  # only the last is cut short


def test_a_render_says_when_a_card_text_is_cut_short(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    title = "Wie man das Passwort im Intranet-Portal der Stadtverwaltung ändert " * 6
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "x.mp4", "-q", "--title-card", title,
                   "--card-seconds", "1")
    assert f"warning: '{title.strip()[:40]}…' is too long for its card: shown cut short" in proc.stderr


def test_a_lower_third_too_long_is_cut_short_with_an_ellipsis() -> None:
    from greenscreen.composite.lower_third import LowerThird, LowerThirds
    from greenscreen.text import ellipsized, font

    face = font(30)
    assert ellipsized("Maria Muster", face, 1000) == "Maria Muster"
    short = ellipsized("Maximiliane " * 25, face, 300)
    assert short.endswith("…") and len(short) < 60
    thirds = LowerThirds([LowerThird("Maximiliane " * 25, "Rolle " * 40, 0.0, 1.0)], (640, 360), speaker_left=False)
    bgr, _ = thirds._layers[0][:2]
    assert bgr.shape[1] < 0.6 * 640
