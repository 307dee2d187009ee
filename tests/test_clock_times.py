"""Times written as on a player's clock (1:20.5) wherever a setting is a time in the clip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli, streams_of
from greenscreen.settings import parse_clock


@pytest.mark.parametrize(("text", "seconds"), [
    ("83.5", 83.5), ("1:23.5", 83.5), ("01:02:03", 3723.0), ("0:05", 5.0), ("-0:01.5", -1.5), ("12", 12.0),
])
def test_clock_times_parse(text: str, seconds: float) -> None:
    assert parse_clock(text) == seconds


@pytest.mark.parametrize("text", ["1:75", "1:60:00", "eins", "1::2", "", "1:2:3:4"])
def test_impossible_clock_times_are_refused(text: str) -> None:
    assert parse_clock(text) is None


def test_render_and_batch_take_clock_times(media: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cut.mp4"
    run_cli("render", media["speaker"], media["screen"], "-o", out, "-q", "--start", "0:00.5", "--end", "0:01.5")
    assert streams_of(out)["frames"] == 30
    bad = run_cli("render", media["speaker"], media["screen"], "-o", out, "--end", "0:61", check=False)
    assert bad.returncode == 2 and "'0:61' is neither seconds nor a time" in bad.stderr

    rec, rendered = tmp_path / "rec", tmp_path / "rendered"
    rec.mkdir()
    (rec / "a.speaker.mp4").write_bytes(media["speaker"].read_bytes())
    (rec / "a.screen.mp4").write_bytes(media["screen"].read_bytes())
    (rec / "batch.toml").write_text('[tutorials.a]\ntrim = ["0:00.5", 1.5]\n', encoding="utf-8")
    run_cli("batch", rec, "-o", rendered, "-q")
    assert streams_of(rendered / "a.mp4")["frames"] == 30
    (rec / "batch.toml").write_text('[tutorials.a]\ntrim = ["0:0x", 1.5]\n[tutorials.a.timeline]\noffset = "1:2:3:4"\n',
                                     encoding="utf-8")
    proc = run_cli("batch", rec, "-o", rendered, check=False)
    assert proc.returncode == 2
    assert "batch.toml: line 2: [tutorials.a] 'trim' must be [start, end] in seconds or as 1:20.5" in proc.stderr
    assert ("batch.toml: line 4: [tutorials.a] [timeline] 'offset' must be seconds or a time such as 1:20.5, "
            "got '1:2:3:4'") in proc.stderr
    assert json.loads((rendered / "report.json").read_text(encoding="utf-8"))["summary"]["rendered"] == 1
