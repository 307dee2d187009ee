"""The edit file: the sample edit renders a finished tutorial, and a bad edit names every problem."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from conftest import run_cli
from greenscreen.edit import EditError, read_edit
from greenscreen.io.captions import read_captions

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_sample_edit_renders_a_finished_tutorial(tmp_path: Path) -> None:
    out = tmp_path / "tutorial.mp4"
    run_cli("render", ROOT / "samples" / "speaker.mp4", ROOT / "samples" / "screen.mp4",
            "--edit", ROOT / "samples" / "edit.toml", "-o", out, "-q")
    with av.open(str(out)) as container:
        duration = container.duration / 1e6
        chapters = [c["metadata"]["title"] for c in container.chapters()]
        subtitles = container.streams.subtitles[0].metadata.get("language")
        title = container.metadata.get("title")
    assert abs(duration - (2.5 + 8.0 - 0.5 + 2.5)) < 0.05  # title card, the sample less the cut, outro
    assert chapters == ["Passwort ändern", "Einstellungen öffnen", "Die Vorführung", "Neues Passwort",
                        "Fragen? Die IT-Hilfe hilft gern – Tel. 12 34"]
    assert subtitles == "deu" and title == "Passwort ändern"
    assert [c.text for c in read_captions(out.with_suffix(".vtt"))][0] == "Hallo! Heute ändern wir gemeinsam Ihr Passwort."


def test_the_sample_edit_reads_whole() -> None:
    edit = read_edit(ROOT / "samples" / "edit.toml")
    assert len(edit.cuts) == 1 and len(edit.chapters) == 2 and len(edit.redactions) == 1
    assert [s.layout for s in edit.segments] == ["full", "pip", "screen", "pip"]
    assert [s.transition for s in edit.segments] == ["cut", "slide", "cut", "crossfade"]
    assert edit.lower_thirds[0].name == "Maria Muster" and edit.logo == ROOT / "samples" / "logo.png"
    assert edit.captions == ROOT / "samples" / "captions.de.vtt"


def test_a_bad_edit_names_every_problem_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "edit.toml"
    path.write_text(
        'logo = 5\n'                     # 1
        '[cards]\n'                      # 2
        'titel = "x"\n'                  # 3
        '[[cuts]]\n'                     # 4
        'from = 1\n'                     # 5
        '[[cut]]\n'                      # 6
        'from = "0:02"\n'                # 7
        'to = "0:01"\n'                  # 8
        '[[chapter]]\n'                  # 9
        'at = "1:75"\n'                  # 10
        'title = "x"\n'                  # 11
        '[[lower_third]]\n'              # 12
        'name = "Jörg"\n'                # 13
        'form = 1\n'                     # 14
        'to = 2\n',                      # 15
        encoding="utf-8",
    )
    with pytest.raises(EditError) as caught:
        read_edit(path)
    problems = caught.value.problems  # type: ignore[attr-defined]
    text = "\n".join(problems)
    assert "line 1: 'logo' must be a file name" in text
    assert "line 3: [cards] unknown key 'titel' (did you mean 'title'?)" in text
    assert "line 4: unknown key 'cuts' (did you mean 'cut'?)" in text
    assert "line 6: [[cut]] 'to' must come after 'from'" in text
    assert "line 9: [[chapter]] 'at' must be seconds or a time such as 1:20.5, got '1:75'" in text
    assert "line 12: [[lower_third]] unknown key 'form' (did you mean 'from'?)" in text
    proc = run_cli("render", ROOT / "samples" / "speaker.mp4", ROOT / "samples" / "screen.mp4",
                   "--edit", path, "-o", tmp_path / "x.mp4", check=False)
    assert proc.returncode == 1 and proc.stderr.startswith(f"error: {path}: ") and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.mp4").exists()

    # A video given as the logo or the cards' picture is a mistake of the edit file, with its line.
    (tmp_path / "talk.mp4").write_bytes(b"")
    path.write_text('logo = "talk.mp4"\ncard_image = "talk.mp4"\n', encoding="utf-8")
    with pytest.raises(EditError) as caught:
        read_edit(path)
    text = "\n".join(caught.value.problems)  # type: ignore[attr-defined]
    assert "line 1: 'logo' " in text and "talk.mp4: file is empty" in text
    assert "line 2: 'card_image' " in text
    # Any picture render reads is fine (a GIF logo worked before the check and must still).
    cv2.imwritemulti(str(tmp_path / "logo.gif"), [np.full((8, 8, 3), 200, np.uint8)])
    path.write_text('logo = "logo.gif"\n', encoding="utf-8")
    assert read_edit(path).logo == tmp_path / "logo.gif"


@pytest.mark.parametrize(("content", "says"), [
    (b'[cards]\ntitle = "Gr\xfc\xdfe"\n', "line 2: not UTF-8 text (saved as Windows-1252 or Latin-1?); save the edit file as UTF-8"),
    (b'[cards]\ntitle = "offen\n', "line 2: not valid TOML: "),
    (b'[cards]\n[cards]\n', "line 2: not valid TOML: "),
    (None, "file not found"),
])
def test_an_edit_file_that_cannot_be_read_is_a_mistake_of_the_input(
    tmp_path: Path, content: bytes | None, says: str
) -> None:
    """Not UTF-8, not TOML or missing: exit 1 like any other mistake in the edit (it was 2 for
    these, and Python's codec words with a byte position)."""
    path = tmp_path / "edit.toml"
    if content is not None:
        path.write_bytes(content)
    proc = run_cli("render", ROOT / "samples" / "speaker.mp4", ROOT / "samples" / "screen.mp4",
                   "--edit", path, "-o", tmp_path / "x.mp4", check=False)
    assert proc.returncode == 1 and proc.stderr.startswith(f"error: {path}: {says}"), proc.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_an_edit_file_saved_as_notepads_unicode_is_read(tmp_path: Path) -> None:
    path = tmp_path / "edit.toml"
    path.write_bytes('[cards]\ntitle = "Grüße"\n'.encode("utf-16"))
    assert read_edit(path).settings == {"cards": {"title": "Grüße"}}


def test_a_lower_third_without_times_introduces_the_speaker(tmp_path: Path) -> None:
    from greenscreen.composite.lower_third import LowerThird

    path = tmp_path / "edit.toml"
    path.write_text('[[lower_third]]\nname = "Jörg"\nrole = "IT"\n', encoding="utf-8")
    assert read_edit(path).lower_thirds == [LowerThird("Jörg", "IT")]
    path.write_text('[[lower_third]]\nname = "Jörg"\nfrom = 2\n', encoding="utf-8")
    with pytest.raises(EditError) as caught:
        read_edit(path)
    assert caught.value.problems == [  # type: ignore[attr-defined]
        "line 1: [[lower_third]] give both 'from' and 'to', or neither (then it introduces the speaker)"
    ]


def test_a_card_without_text_is_judged_with_every_layer(tmp_path: Path) -> None:
    """A subtitle in an edit file may stand under a title from the command line; without one
    anywhere, the problem names the edit file's line."""
    from greenscreen.presets import CardError, SettingsLayer, layered_settings

    path = tmp_path / "edit.toml"
    path.write_text('[[cut]]\nfrom = 2\nto = 1\n\n[cards]\nsubtitle = "Teil 1"\n', encoding="utf-8")
    with pytest.raises(EditError) as caught:
        read_edit(path)
    assert caught.value.problems == ["line 1: [[cut]] 'to' must come after 'from'"]  # type: ignore[attr-defined]
    path.write_text('[cards]\nsubtitle = "Teil 1"\n', encoding="utf-8")
    edit = read_edit(path)
    title = SettingsLayer({"cards": {"title": "Willkommen"}}, "command line")
    assert layered_settings((), [edit.layer(), title]).cards.subtitle == "Teil 1"
    with pytest.raises(CardError) as refused:
        layered_settings((), [edit.layer(), SettingsLayer({"cards": {"seconds": 2.0}}, "command line")])
    assert str(refused.value.path) == str(path)
    assert refused.value.problems == [
        "line 2: [cards] cards.subtitle needs a title to stand under (--title-card / [cards] title)"]


def test_a_captions_file_that_is_no_subtitle_file_is_listed_up_front(tmp_path: Path) -> None:
    """``captions_file = "notes.txt"`` passed the edit check (batch's up-front list included) and
    failed only when that tutorial's render started."""
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    path = tmp_path / "edit.toml"
    path.write_text('captions_file = "notes.txt"\n', encoding="utf-8")
    with pytest.raises(EditError, match=r"line 1: 'captions_file' must be a \.srt or \.vtt file, got 'notes.txt'"):
        read_edit(path)
