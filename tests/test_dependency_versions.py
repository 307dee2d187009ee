"""What differs between the dependency versions pip picks on each supported Python.

Python 3.11 gets PyAV 18 and 3.12+ get PyAV 19, whose API changed (``av.open`` keywords, rationals
that are never ``None``); these tests hold on both.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg

from greenscreen.io.probe import probe
from greenscreen.io.reader import read_frames
from conftest import run_cli, streams_of


def test_recording_with_a_latin1_title_tag_renders(tmp_path: Path, media: dict[str, Path]) -> None:
    # Old cameras and Windows tools write tags in Latin-1: PyAV 18 raises on them unless told to
    # ignore decoding errors, PyAV 19 reads them as surrogates. Either way the file must render.
    tagged = tmp_path / "latin1.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(media["speaker"]),
         "-c", "copy", "-metadata", b"title=Erkl\xe4rvideo B\xfcro", str(tagged)],
        check=True, capture_output=True,
    )
    info = probe(tagged)
    assert (info.width, info.height) == (320, 180)
    assert sum(1 for _ in read_frames(tagged)) == 60
    out = tmp_path / "out.mp4"
    run_cli("render", tagged, media["screen"], "-o", out, "-q")
    assert streams_of(out)["frames"] == 60
