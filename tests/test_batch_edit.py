"""``greenscreen batch`` with edits: a tutorial's ``NAME.toml``, ``NAME/edit.toml`` or
``[tutorials.NAME]`` table cuts, chapters and brands its output; a broken edit stops the batch
before anything renders; changing an edit re-renders that tutorial only.

Runs the real command line in a subprocess and reads the outputs back with PyAV.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from conftest import run_cli, run_ffmpeg
from greenscreen.batch import plan_batch

SECONDS = 3.0
FPS = 25


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 3 s speaker (box on green, a tone) and a 3 s screen recording (a grey field with a
    moving bar: no colour in the top-right corner, where the logo goes)."""
    d = tmp_path_factory.mktemp("batch_edit_clips")
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    run_ffmpeg(
        "-f", "lavfi", "-i",
        f"color=c=0x30b040:s=160x120:r={FPS}:d={SECONDS},"
        "drawbox=x='40+20*sin(t*4)':y=30:w=60:h=90:color=0xc08060:t=fill",
        "-f", "lavfi", "-i", f"sine=f=440:d={SECONDS}",
        *x264, "-c:a", "aac", "-shortest", str(d / "speaker.mp4"),
    )
    run_ffmpeg(
        "-f", "lavfi", "-i",
        f"color=c=0x808080:s=320x180:r={FPS}:d={SECONDS},drawbox=x='t*60':y=120:w=30:h=30:color=0x202020:t=fill",
        *x264, str(d / "screen.mkv"),
    )
    logo = np.zeros((40, 40, 4), np.uint8)
    logo[..., 2] = 255  # opaque red (BGRA)
    logo[..., 3] = 255
    cv2.imwrite(str(d / "logo.png"), logo)
    return {p.name: p for p in d.iterdir()}


@pytest.fixture
def recordings(tmp_path: Path, clips: dict[str, Path]) -> Path:
    """one (flat), two (a folder of its own) and three (flat), no edits yet."""
    rec = tmp_path / "recordings"
    for speaker, screen in (("one.speaker.mp4", "one.screen.mkv"), ("two/speaker.mp4", "two/screen.mkv"),
                            ("three.speaker.mp4", "three.screen.mkv")):
        for name, clip in ((speaker, "speaker.mp4"), (screen, "screen.mkv")):
            (rec / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(clips[clip], rec / name)
    return rec


def read_back(path: Path) -> tuple[float, list[tuple[float, str]]]:
    """Duration (of the video stream, s) and chapters ``(start s, title)`` of a rendered file."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        duration = float(video.duration * video.time_base)
        chapters = [(round(float(c["start"] * c["time_base"]), 2), c["metadata"]["title"]) for c in container.chapters()]
    return duration, chapters


def logo_pixels(path: Path, channel: int) -> int:
    """Pixels of the first frame's top-right 60x40 where ``channel`` (0 red, 2 blue) stands out."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(np.int32)
    corner = frame[:40, -60:]
    return int(np.count_nonzero(corner[..., channel] - corner[..., 1] > 100))


def speaker_pixels(path: Path) -> int:
    """Pixels of the first frame in the speaker's skin colour (0xc08060: reddish, no grey)."""
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0)).to_ndarray(format="rgb24").astype(np.int32)
    return int(np.count_nonzero((frame[..., 0] - frame[..., 2] > 50) & (frame[..., 1] > 90)))


def statuses(out: Path) -> dict[str, str]:
    return {t["name"]: t["status"] for t in json.loads((out / "report.json").read_text())["tutorials"]}


def test_edits_cut_chapter_and_brand_each_tutorial_and_a_changed_edit_rerenders_it_alone(
    recordings: Path, tmp_path: Path, clips: dict[str, Path]
) -> None:
    (recordings / "one.toml").write_text(
        '# cut the fluff, two chapters\n[[cut]]\nfrom = 0.5\nto = "0:01.5"\n\n'
        '[[chapter]]\nat = 0\ntitle = "Anfang"\n'
        '[[chapter]]\nat = 2.0\ntitle = "Zweiter Teil: Größe ändern"\n',
        encoding="utf-8",
    )
    shutil.copyfile(clips["logo.png"], recordings / "two" / "logo.png")
    (recordings / "two" / "edit.toml").write_text(
        'logo = "logo.png"   # beside this file\n[[segment]]\nfrom = 0\nto = 1.5\nlayout = "screen"\n'
    )
    (recordings / "batch.toml").write_text(
        '[tutorials.three]\ntitle = "Drei"\n'
        '[[tutorials.three.cut]]\nfrom = 1.0\nto = 2.0\n'
        '[[tutorials.three.chapter]]\nat = 0\ntitle = "Anfang"\n'
        '[[tutorials.three.chapter]]\nat = 2.5\ntitle = "Ende"\n',
        encoding="utf-8",
    )
    out = tmp_path / "rendered"
    proc = run_cli("batch", recordings, "-o", out, "-j", "2", "-q")
    assert statuses(out) == {"one": "rendered", "three": "rendered", "two": "rendered"}
    assert "logo.png" not in proc.stdout  # used by an edit: not listed as unrecognised

    one, two, three = (read_back(out / f"{name}.mp4") for name in ("one", "two", "three"))
    frame = 1 / FPS
    assert abs(one[0] - (SECONDS - 1.0)) <= frame and abs(three[0] - (SECONDS - 1.0)) <= frame
    assert abs(two[0] - SECONDS) <= frame  # no cut there
    # The chapter at 2.0 s of the recordings plays at 1.0 s once 0.5-1.5 s is cut out.
    # (A first chapter after 0 s reads back from 0 s: the MP4 chapter track has no gaps.)
    assert one[1] == [(0.0, "Anfang"), (1.0, "Zweiter Teil: Größe ändern")]
    assert three[1] == [(0.0, "Anfang"), (1.5, "Ende")]
    assert two[1] == []
    assert logo_pixels(out / "two.mp4", 0) > 50 and logo_pixels(out / "one.mp4", 0) == 0
    # two's segment shows the screen recording alone for its first 1.5 s: no speaker there.
    assert speaker_pixels(out / "two.mp4") == 0 and speaker_pixels(out / "one.mp4") > 200

    # A comment changes nothing; a changed chapter re-renders one alone; a new logo, two alone.
    (recordings / "one.toml").write_text("# a comment\n" + (recordings / "one.toml").read_text(encoding="utf-8"),
                                         encoding="utf-8")
    proc = run_cli("batch", recordings, "-o", out, "--dry-run")
    assert proc.stdout.count("skip") == 3, proc.stdout
    (recordings / "one.toml").write_text(
        (recordings / "one.toml").read_text(encoding="utf-8").replace("at = 2.0", "at = 2.5"), encoding="utf-8"
    )
    logo = np.zeros((40, 40, 4), np.uint8)
    logo[..., 0] = logo[..., 3] = 255  # blue now
    cv2.imwrite(str(recordings / "two" / "logo.png"), logo)
    proc = run_cli("batch", recordings, "-o", out, "--dry-run")
    text = " ".join(proc.stdout.split())
    assert "would render one edit changed" in text and "would render two logo changed" in text, text
    assert "skip three up to date" in text
    run_cli("batch", recordings, "-o", out, "-q")
    assert statuses(out) == {"one": "rendered", "three": "skipped", "two": "rendered"}
    assert read_back(out / "one.mp4")[1] == [(0.0, "Anfang"), (1.5, "Zweiter Teil: Größe ändern")]
    assert logo_pixels(out / "two.mp4", 2) > 50 and logo_pixels(out / "two.mp4", 0) == 0  # blue now


def test_every_problem_of_every_edit_is_listed_and_nothing_renders(recordings: Path, tmp_path: Path) -> None:
    (recordings / "one.toml").write_text(
        '[[cut]]\n'                 # 1
        'from = "0:02"\n'           # 2
        'to = "0:01"\n'             # 3
        '[[chapters]]\n'            # 4
        'at = 1\n'                  # 5
        'title = "x"\n'             # 6
        '[cards]\n'                 # 7
        'titel = "Hallo"\n',        # 8
    )
    (recordings / "two" / "edit.toml").write_text('logo = "missing.png"\n[[chapter]]\nat = 1\n')
    (recordings / "batch.toml").write_text(
        '[layout]\n'                    # 1
        'corner = "top-left"\n'         # 2
        '[tutorials.three]\n'           # 3
        'ofset = 1\n'                   # 4
        '[[tutorials.three.redact]]\n'  # 5
        'box = [1, 2, 3]\n'             # 6
    )
    out = tmp_path / "rendered"
    proc = run_cli("batch", recordings, "-o", out, check=False)
    assert proc.returncode == 2, proc.stderr
    assert not out.exists()
    lines = proc.stderr.splitlines()
    assert lines[0] == "error: 7 problem(s) in the batch settings; nothing was rendered:", proc.stderr
    expected = [
        f"{recordings / 'batch.toml'}: line 4: [tutorials.three] unknown key 'ofset' (did you mean 'offset'?)",
        f"{recordings / 'batch.toml'}: line 5: [tutorials.three] [[redact]] 'box' must be [x, y, width, height]",
        f"{recordings / 'one.toml'}: line 1: [[cut]] 'to' must come after 'from'",
        f"{recordings / 'one.toml'}: line 4: unknown key 'chapters' (did you mean 'chapter'?)",
        f"{recordings / 'one.toml'}: line 8: [cards] unknown key 'titel' (did you mean 'title'?)",
        f"{recordings / 'two' / 'edit.toml'}: line 1: 'logo' {recordings / 'two' / 'missing.png'}: file not found",
        f"{recordings / 'two' / 'edit.toml'}: line 2: [[chapter]] needs title",
    ]
    for want, got in zip(expected, lines[1:], strict=True):
        assert got.strip().startswith(want), proc.stderr
    # A file that is not valid TOML is named with its line, like a preset.
    (recordings / "one.toml").write_text('[[cut]]\nfrom = 1\nto = \n')
    proc = run_cli("batch", recordings, "-o", out, "--dry-run", check=False)
    assert proc.returncode == 2 and f"{recordings / 'one.toml'}: line 3: not valid TOML" in proc.stderr


def test_an_edit_file_wins_over_the_tutorial_table_kind_by_kind(
    recordings: Path, tmp_path: Path, clips: dict[str, Path]
) -> None:
    (recordings / "batch.toml").write_text(
        '[layout]\ncorner = "top-left"\n'
        '[tutorials.one]\ntitle = "Eins"\ncard_image = "card.png"\n[tutorials.one.layout]\ncorner = "top-right"\nsize = 0.3\n'
        '[[tutorials.one.cut]]\nfrom = 0.2\nto = 0.4\n'
        '[[tutorials.one.chapter]]\nat = 1\ntitle = "aus der Tabelle"\n'
    )
    (recordings / "one.toml").write_text('[layout]\ncorner = "bottom-left"\n[[cut]]\nfrom = 1\nto = 2\n')
    shutil.copyfile(clips["logo.png"], recordings / "card.png")
    (recordings / "two" / "settings.toml").write_text('layout = "circle"\n')  # its name before edit.toml
    plan = plan_batch(recordings, tmp_path / "out")
    jobs = {e.name: e.job for e in plan.entries if e.job is not None}
    one = jobs["one"]
    assert one.settings.layout.corner == "bottom-left" and one.settings.layout.size == 0.3
    assert one.settings.timeline.title == "Eins"
    assert [(c.start, c.end) for c in one.edit.cuts] == [(1.0, 2.0)]  # the file's cuts replace the table's
    assert [c.title for c in one.edit.chapters] == ["aus der Tabelle"]  # the file has none: the table's stay
    assert jobs["two"].settings.layout.layout == "circle" and jobs["two"].settings.layout.corner == "top-left"
    assert jobs["three"].edit.cuts == []
    # card.png is named by the table, so relative to batch.toml, a file the fingerprint covers.
    assert one.edit.card_image == recordings / "card.png" and "card_image" in one.record["inputs"]
    assert not [u for u in plan.unrecognised if u.path.name == "card.png"]

    (recordings / "two" / "edit.toml").write_text("")
    with pytest.raises(Exception, match="a second edit file beside edit.toml; keep one"):
        plan_batch(recordings, tmp_path / "out")


def test_a_cards_subtitle_is_judged_with_the_batchs_own_title(recordings: Path, tmp_path: Path) -> None:
    """A subtitle in a tutorial's edit stands under a title from batch.toml; a speaker intro
    with no title anywhere is listed up front with its file and line."""
    (recordings / "one.toml").write_text('[cards]\nsubtitle = "Teil 1"\n')
    (recordings / "batch.toml").write_text('[cards]\ntitle = "Schulung"\n')
    out = tmp_path / "rendered"
    assert run_cli("batch", recordings, "-o", out, "--dry-run", check=False).returncode == 0
    (recordings / "batch.toml").write_text('[tutorials.three]\noffset = 0\n[tutorials.three.cards]\nspeaker = true\n')
    proc = run_cli("batch", recordings, "-o", out, "--dry-run", check=False)
    assert proc.returncode == 2 and not out.exists()
    assert proc.stderr.splitlines()[1:] == [
        f"  {recordings / 'batch.toml'}: line 4: [tutorials.three] [cards] cards.speaker (the speaker intro) "
        "needs a title card (--title-card / [cards] title)",
        f"  {recordings / 'one.toml'}: line 2: [cards] cards.subtitle needs a title to stand under "
        "(--title-card / [cards] title)",
    ], proc.stderr
    # A folder-wide subtitle without a title is every tutorial's problem, listed once; an edit
    # that only turns the speaker intro off is not to blame.
    (recordings / "one.toml").write_text('[cards]\nspeaker = false\n')
    (recordings / "batch.toml").write_text('[cards]\nsubtitle = "Teil 1"\n')
    proc = run_cli("batch", recordings, "-o", out, "--dry-run", check=False)
    assert proc.returncode == 2 and proc.stderr.splitlines()[1:] == [
        f"  {recordings / 'batch.toml'}: line 2: [cards] cards.subtitle needs a title to stand under "
        "(--title-card / [cards] title)"], proc.stderr
