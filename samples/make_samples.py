"""Regenerate the sample recordings in this folder with the test-media generator ``tests/synthetic.py``.

    python samples/make_samples.py            # writes samples/speaker.mp4 and samples/screen.mp4
    python samples/make_samples.py --out DIR  # somewhere else

The output is deterministic for a given greenscreen, PyAV and x264 version.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the generator lives with the tests, outside the package

from synthetic import write_screen_clip, write_speaker_clip  # noqa: E402

# One place for the sample settings; README.md describes them.
SPEAKER = dict(size=(640, 360), fps=30.0, seconds=8.0, audio=True, seed=0, sheet="bedsheet",
               empty_seconds=1.0, crf=20, preset="medium")
SCREEN = dict(size=(1280, 720), fps=30.0, seconds=8.0, audio=False, seed=0, crf=23, preset="medium")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: %(default)s)")
    args = parser.parse_args(argv)
    jobs = [("speaker.mp4", write_speaker_clip, SPEAKER), ("screen.mp4", write_screen_clip, SCREEN)]
    for name, write, settings in jobs:
        start = time.perf_counter()
        path = write(args.out / name, **settings)
        print(f"{path}: {path.stat().st_size:,} bytes in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
