"""Captions: read .srt/.vtt, follow offset and trim, a soft track in the MP4 and a .vtt beside it."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest

import cards
from conftest import run_cli
from greenscreen.errors import MediaError
from greenscreen.io.captions import Cue, caption_language, read_captions, webvtt

SIZE = (64, 48)
SRT = """1
00:00:00,500 --> 00:00:01,500
Grüß Gott – „Passwort ändern“

2
00:00:02,000 --> 00:00:03,250
Zweite Zeile: 5 €
mit Umbruch

"""
VTT = """\ufeffWEBVTT - made by hand

NOTE this block is a comment
and is skipped

intro
00:01.000 --> 00:02.000 align:start position:10%
Hallo <i>Welt</i>

01:00:00.000 --> 01:00:01.000
spät
"""


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.replace("\n", "\r\n").encode(encoding))
    return path


def test_reads_srt_and_vtt(tmp_path: Path) -> None:
    assert read_captions(write(tmp_path / "a.srt", SRT)) == [
        Cue(0.5, 1.5, "Grüß Gott – „Passwort ändern“"),
        Cue(2.0, 3.25, "Zweite Zeile: 5 €\nmit Umbruch"),
    ]
    assert read_captions(write(tmp_path / "b.vtt", VTT)) == [
        Cue(1.0, 2.0, "Hallo <i>Welt</i>"), Cue(3600.0, 3601.0, "spät"),
    ]


def test_webvtt_round_trip(tmp_path: Path) -> None:
    cues = read_captions(write(tmp_path / "a.srt", SRT))
    assert read_captions(write(tmp_path / "again.vtt", webvtt(cues))) == cues


def test_language_from_option_or_file_name() -> None:
    assert caption_language("talk.de.srt") == "deu"
    assert caption_language("talk.srt") == "und"
    assert caption_language("talk.srt", "en") == "eng"
    assert caption_language("talk.de.srt", "fra") == "fra"


@pytest.mark.parametrize(("text", "expected"), [
    ("1\n00:00:01,000 --> 00:00:0x,000\nHallo\n", "line 2: cannot read the times"),
    ("1\n00:00:03,000 --> 00:00:02,000\nHallo\n", "line 2: the cue ends (2.000 s) before it starts (3.000 s)"),
    ("", "holds no captions"),
    ("nur Text, keine Zeiten\n", "holds no captions"),
    ("1\n00:00:01,000 -> 00:00:02,000\nx\n", "line 2: cannot read the times"),
])
def test_malformed_files_name_the_line(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(MediaError, match=expected.replace("(", r"\(").replace(")", r"\)").split(" (")[0]):
        read_captions(write(tmp_path / "bad.srt", text))


def test_every_problem_at_once_and_encoding(tmp_path: Path) -> None:
    text = "1\n00:00:01 --> 00:00:02,000\nx\n\n2\n00:00:05,000 --> 00:00:04,000\ny\n"
    with pytest.raises(MediaError, match=r"2 problems: line 2: .*; line 6: the cue ends"):
        read_captions(write(tmp_path / "bad.srt", text))
    # Notepad's "ANSI" on a German Windows, and its "Unicode" (UTF-16 with a byte order mark).
    notes: list[str] = []
    cues = read_captions(write(tmp_path / "ansi.srt", "1\n00:00:01,000 --> 00:00:02,000\nGrüße – 5 €\n", "cp1252"), notes)
    assert [c.text for c in cues] == ["Grüße – 5 €"] and "Windows-1252" in notes[0] and "ansi.srt" in notes[0]
    cues = read_captions(write(tmp_path / "utf16.srt", "\ufeff1\n00:00:01,000 --> 00:00:02,000\nGrüße\n", "utf-16-le"))
    assert [c.text for c in cues] == ["Grüße"]
    cues = read_captions(write(tmp_path / "utf16be.srt", "1\n00:00:01,000 --> 00:00:02,000\nGrüße\n", "utf-16-be"))
    assert [c.text for c in cues] == ["Grüße"], "UTF-16 without a byte order mark"
    with pytest.raises(MediaError, match="not UTF-8"):  # bytes Windows-1252 does not have
        read_captions(write(tmp_path / "binary.srt", "1\n00:00:01,000 --> 00:00:02,000\n\x81\x8d\n", "latin-1"))
    with pytest.raises(MediaError, match="not UTF-8"):  # Cyrillic in Windows-1251: not read as gibberish
        read_captions(write(tmp_path / "cp1251.srt", "1\n00:00:01,000 --> 00:00:02,000\nДобрий день\n", "cp1251"))
    with pytest.raises(MediaError, match="starts with 'WEBVTT'"):
        read_captions(write(tmp_path / "bad.vtt", SRT))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("captions")
    speaker = cards.write_clip(d / "speaker.mp4", cards.flat(SIZE, cards.SHEET), seconds=4.0,
                               sound=cards.beeps([0.5], tone=500))
    screen = cards.write_clip(d / "screen.mp4", cards.flat(SIZE, cards.RED), seconds=4.0)
    return speaker, screen


def soft_track(path: Path) -> tuple[str, list[Cue]]:
    with av.open(str(path)) as container:
        stream = container.streams.subtitles[0]
        cues = [
            Cue(round(float(p.pts * p.time_base), 3), round(float((p.pts + p.duration) * p.time_base), 3),
                bytes(p)[2:].decode("utf-8"))
            for p in container.demux(stream) if p.size > 2
        ]
        return stream.metadata.get("language", ""), cues


def test_render_writes_soft_track_and_sidecar_on_the_output_timeline(
    pair: tuple[Path, Path], tmp_path: Path
) -> None:
    speaker, screen = pair
    captions = write(tmp_path / "talk.de.srt", SRT)
    out = tmp_path / "Erklärvideo.mp4"
    # The speaker starts 1 s later and the first 1.5 s are trimmed: speaker time t is output t - 0.5.
    proc = run_cli("render", speaker, screen, "-o", out, "--captions", captions,
                   "--offset", "1", "--start", "1.5", "--end", "4")
    # At 25 fps the trim starts on frame 38 (1.52 s): the output shows speaker times 0.52-3.02 s.
    expected = [Cue(0.0, 0.98, "Grüß Gott – „Passwort ändern“"), Cue(1.48, 2.48, "Zweite Zeile: 5 €\nmit Umbruch")]
    language, track = soft_track(out)
    assert language == "deu"
    assert track == expected
    assert read_captions(out.with_suffix(".vtt")) == expected
    assert "2 caption(s) of talk.de.srt are shortened or left out by the trim or the cuts" in proc.stderr


def test_captions_follow_the_screen_with_screen_audio(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    out = tmp_path / "out.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--captions", write(tmp_path / "c.srt", SRT),
            "--offset", "1", "--audio", "screen")
    assert [(c.start, c.end) for c in soft_track(out)[1]] == [(0.5, 1.5), (2.0, 3.25)]


@pytest.mark.parametrize(("name", "text", "message"), [
    ("late.srt", "1\n00:10:00,000 --> 00:10:02,000\nzu spät\n", "no caption falls inside the rendered clip"),
    ("bad.srt", "1\n00:00:03,000 --> 00:00:02,000\nx\n", "line 2: the cue ends"),
    ("notes.txt", "hallo", "captions must be a .srt or .vtt file"),
])
def test_bad_captions_are_one_line_and_write_nothing(
    pair: tuple[Path, Path], tmp_path: Path, name: str, text: str, message: str
) -> None:
    speaker, screen = pair
    out = tmp_path / "out.mp4"
    proc = run_cli("render", speaker, screen, "-o", out, "--captions", write(tmp_path / name, text), check=False)
    assert proc.returncode in (1, 2)
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and message in proc.stderr
    assert name in proc.stderr
    assert not out.exists() and not out.with_suffix(".vtt").exists()


def test_sidecar_never_replaces_the_captions_given(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    captions = write(tmp_path / "tutorial.vtt", webvtt([Cue(0.5, 1.0, "x")]))
    before = captions.read_bytes()
    proc = run_cli("render", speaker, screen, "-o", tmp_path / "tutorial.mp4", "--captions", captions, check=False)
    assert proc.returncode == 1 and "would overwrite an input" in proc.stderr
    assert captions.read_bytes() == before


def test_batch_picks_up_captions_beside_the_recordings(pair: tuple[Path, Path], tmp_path: Path) -> None:
    speaker, screen = pair
    rec, out = tmp_path / "rec", tmp_path / "out"
    (rec / "b").mkdir(parents=True)
    for name in ("a", "d"):
        (rec / f"{name}.speaker.mp4").write_bytes(speaker.read_bytes())
        (rec / f"{name}.screen.mp4").write_bytes(screen.read_bytes())
    (rec / "b" / "speaker.mp4").write_bytes(speaker.read_bytes())
    (rec / "b" / "screen.mp4").write_bytes(screen.read_bytes())
    write(rec / "a.de.srt", SRT)
    write(rec / "b" / "captions.vtt", webvtt([Cue(1.0, 2.0, "Ordner")]))
    write(rec / "c.srt", SRT)  # no tutorial c
    write(rec / "d.srt", SRT)
    write(rec / "d.vtt", webvtt([Cue(1.0, 2.0, "zwei Dateien")]))
    proc = run_cli("batch", rec, "-o", out, "-q", check=False)
    assert proc.returncode == 1  # d fails, the others render
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    status = {t["name"]: t for t in report["tutorials"]}
    assert status["a"]["status"] == status["b"]["status"] == "rendered"
    assert status["d"]["status"] == "failed" and "more than one captions file (d.srt, d.vtt)" in status["d"]["reason"]
    assert status["a"]["inputs"]["captions"].endswith("a.de.srt")
    assert any(u["path"].endswith("c.srt") and "no c.speaker" in u["reason"] for u in report["unrecognised"])
    assert soft_track(out / "a.mp4") == ("deu", read_captions(out / "a.vtt"))
    assert [c.text for c in read_captions(out / "b.vtt")] == ["Ordner"]
    # Corrected captions render that tutorial again.
    write(rec / "b" / "captions.vtt", webvtt([Cue(1.0, 2.0, "korrigiert")]))
    dry = run_cli("batch", rec, "-o", out, "--dry-run", check=False)
    assert "captions changed" in dry.stdout


def test_markup_is_kept_for_the_sidecar_and_left_out_of_the_text() -> None:
    """Subtitle Edit, Aegisub and YouTube write tags into SRT files; WebVTT has its own. The
    picture and the MP4 track showed them character for character."""
    from greenscreen.io.captions import plain_text

    cases = {
        '<i>Überlappend</i> mit <b>fett</b> und <font color="red">Farbe</font>': "Überlappend mit fett und Farbe",
        "<v Maria>Hallo <c.yellow>gelb</c> und <ruby>漢<rt>kan</rt></ruby></v>": "Hallo gelb und 漢",
        "&lt;tag&gt; &amp; Entities&nbsp;!": "<tag> & Entities !",
        "{\\an8}oben": "oben",
        "if a < b & c > d": "if a < b & c > d",  # not tags
        "x <00:00:01.500>y": "x y",
        # Keys, menus and generics are text, not markup (a tutorial about software writes them):
        # a bare tag name is markup only with its partner.
        "Drücken Sie <Strg>+<C>, dann <Enter>": "Drücken Sie <Strg>+<C>, dann <Enter>",
        "<Strg>+<c>, <Strg>+<v> oder <s>": "<Strg>+<c>, <Strg>+<v> oder <s>",
        "Öffnen Sie <Datei> > <Speichern> (List<String>)": "Öffnen Sie <Datei> > <Speichern> (List<String>)",
        "<I>Alte</I> SRT-Dateien": "Alte SRT-Dateien",
    }
    for marked, plain in cases.items():
        assert plain_text(marked) == plain == Cue(0, 1, marked).plain
    vtt = webvtt([Cue(0, 1, t) for t in cases])
    assert "<i>Überlappend</i> mit <b>fett</b> und Farbe" in vtt  # <font> is not WebVTT
    assert "<v Maria>Hallo <c.yellow>gelb</c> und <ruby>漢<rt>kan</rt></ruby></v>" in vtt
    assert "&lt;tag&gt; &amp; Entities\xa0!" in vtt and "if a &lt; b &amp; c &gt; d" in vtt
    assert "Drücken Sie &lt;Strg&gt;+&lt;C&gt;, dann &lt;Enter&gt;" in vtt
    assert "&lt;Strg&gt;+&lt;c&gt;, &lt;Strg&gt;+&lt;v&gt; oder &lt;s&gt;" in vtt and "<i>Alte</i> SRT-Dateien" in vtt
    assert [c.plain for c in read_captions_text(vtt)] == list(cases.values())


def test_cues_one_at_a_time(tmp_path: Path) -> None:
    from greenscreen.io.captions import one_at_a_time

    assert one_at_a_time([Cue(0, 1, "a"), Cue(0.5, 2, "<b>b</b>"), Cue(3, 4, "c")]) == [
        Cue(0, 0.5, "a"), Cue(0.5, 1, "a\nb"), Cue(1, 2, "b"), Cue(3, 4, "c")]
    # On the track's milliseconds: float noise makes no empty sample.
    assert one_at_a_time([Cue(0, 1.0002, "a"), Cue(1.0001, 2, "b")]) == [Cue(0, 1.0, "a"), Cue(1.0, 2, "b")]
    # A cue pasted twice is one cue, for the track, the picture and the .vtt alike.
    srt = write(tmp_path / "twice.srt", "1\n00:00:00,000 --> 00:00:01,000\na\n\n2\n00:00:00,000 --> 00:00:01,000\na\n")
    assert read_captions(srt) == [Cue(0, 1, "a")]


def read_captions_text(text: str) -> list[Cue]:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return read_captions(write(Path(d) / "c.vtt", text))


def test_overlapping_cues_keep_their_times_in_the_mp4_track(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """Speech-to-text tools run each cue a little into the next. Muxed as they were, each
    overlap pushed every later cue of the MP4 track back by its length, past the video's end."""
    speaker, screen = pair
    words = [(round(0.1 + 0.2 * i, 3), round(0.4 + 0.2 * i, 3), f"<i>Wort</i> {i + 1}") for i in range(18)]
    srt = "".join(f"{i + 1}\n00:00:0{a:.3f} --> 00:00:0{b:.3f}\n{t}\n\n".replace(".", ",")
                  for i, (a, b, t) in enumerate(words))
    captions = write(tmp_path / "whisper.srt", srt)
    out = tmp_path / "o.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--captions", captions, "--offset", "0")
    _, track = soft_track(out)
    # One sample after another, never overlapping; where two cues overlap, both show.
    assert all(a.end <= b.start + 1e-6 for a, b in zip(track, track[1:]))
    assert track[0] == Cue(0.1, 0.3, "Wort 1")
    assert Cue(0.3, 0.4, "Wort 1\nWort 2") in track
    assert track[-1] == Cue(3.6, 3.8, "Wort 18")
    assert max(c.end for c in track) <= 4.0
    # The sidecar keeps the cues as given.
    assert [(c.start, c.end) for c in read_captions(out.with_suffix(".vtt"))] == [(a, b) for a, b, _ in words]


def test_a_render_without_captions_names_an_earlier_renders_sidecar(pair: tuple[Path, Path], tmp_path: Path) -> None:
    """Rendered again without captions, the tutorial kept the earlier render's .vtt beside it,
    which a web page loads by name with the new video."""
    speaker, screen = pair
    out = tmp_path / "tutorial.mp4"
    run_cli("render", speaker, screen, "-o", out, "-q", "--captions", write(tmp_path / "c.srt", SRT))
    assert out.with_suffix(".vtt").exists()
    proc = run_cli("render", speaker, screen, "-o", out, "-q")
    assert "warning: tutorial.vtt beside the output is from before (this render makes no captions)" in proc.stderr
    assert out.with_suffix(".vtt").exists()  # not the render's to delete
