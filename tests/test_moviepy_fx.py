"""The moviepy effect: greenscreen's keyer inside a moviepy 2 edit."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from moviepy import ColorClip, CompositeVideoClip, VideoFileClip

import synthetic
from greenscreen.moviepy_fx import KeySpeaker
from conftest import decode_frames

SIZE = (320, 180)
MAGENTA = (255, 0, 255)  # RGB, as moviepy


def _regions(t: float, seed: int, sheet: str = "bedsheet") -> tuple[np.ndarray, np.ndarray]:
    """Pixels surely sheet and surely speaker at ``t`` (the ground truth, eroded)."""
    _, alpha = synthetic.speaker_frame(t, SIZE, seed, sheet=sheet, noise=False)
    kernel = np.ones((7, 7), np.uint8)
    sheet_px = cv2.erode((alpha == 0).astype(np.uint8), kernel).astype(bool)
    speaker_px = cv2.erode((alpha >= 0.999).astype(np.uint8), kernel).astype(bool)
    return sheet_px, speaker_px


@pytest.fixture(scope="module")
def speaker_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("moviepy")
    return synthetic.write_speaker_clip(d / "speaker.mp4", size=SIZE, seconds=1.0, audio=False, seed=7)


def test_keyed_clip_composites_over_another_clip(speaker_clip: Path) -> None:
    with VideoFileClip(str(speaker_clip)) as source:
        keyed = source.with_effects([KeySpeaker()])
        assert keyed.mask is not None and keyed.mask.is_mask
        backdrop = ColorClip(SIZE, color=MAGENTA, duration=source.duration)
        edit = CompositeVideoClip([backdrop, keyed])
        for t in (0.0, 0.1, 0.5, 0.9):
            frame = edit.get_frame(t).astype(np.int16)
            original = source.get_frame(t).astype(np.int16)
            sheet_px, speaker_px = _regions(t, seed=7)
            off_magenta = np.abs(frame - np.array(MAGENTA)).max(axis=2)
            assert np.median(off_magenta[sheet_px]) <= 4, t
            # The speaker is there, with its own colours (despill only touches green casts).
            assert np.mean(np.abs(frame - original).max(axis=2)[speaker_px] < 40) > 0.95, t


def test_mask_is_the_keyers_matte(speaker_clip: Path) -> None:
    with VideoFileClip(str(speaker_clip)) as source:
        mask = source.with_effects([KeySpeaker()]).mask
        alpha = mask.get_frame(0.5)
        assert alpha.shape == (SIZE[1], SIZE[0]) and alpha.dtype == np.float32
        sheet_px, speaker_px = _regions(0.5, seed=7)
        assert alpha[sheet_px].mean() < 0.01
        assert alpha[speaker_px].mean() > 0.98
        # Going back in time is a seek: the same frame keys the same way again.
        first = mask.get_frame(0.2).copy()
        mask.get_frame(0.8)
        np.testing.assert_allclose(mask.get_frame(0.2), first, atol=0.02)


def test_preset_reaches_the_keyer(tmp_path: Path) -> None:
    blue = synthetic.write_speaker_clip(tmp_path / "blue.mp4", size=SIZE, seconds=0.5, audio=False,
                                        seed=3, sheet="blue")
    sheet_px, _ = _regions(0.2, seed=3, sheet="blue")
    with VideoFileClip(str(blue)) as source:
        green_key = source.with_effects([KeySpeaker()]).mask.get_frame(0.2)
        blue_key = source.with_effects([KeySpeaker(preset="blue-screen")]).mask.get_frame(0.2)
    assert blue_key[sheet_px].mean() < 0.02
    assert green_key[sheet_px].mean() > 0.5  # a green key leaves a blue sheet standing


def test_write_videofile_end_to_end(speaker_clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "edit.mp4"
    with VideoFileClip(str(speaker_clip)) as source:
        keyed = source.with_effects([KeySpeaker()])
        CompositeVideoClip([ColorClip(SIZE, color=MAGENTA, duration=source.duration), keyed]) \
            .write_videofile(str(out), fps=10, codec="libx264", audio=False, logger=None)
    frames = decode_frames(out)
    assert len(frames) == 10
    t, bgr = frames[5]
    sheet_px, _ = _regions(t, seed=7)
    assert np.median(np.abs(bgr.astype(np.int16) - np.array(MAGENTA[::-1])).max(axis=2)[sheet_px]) <= 8


def test_the_clips_own_mask_is_kept(speaker_clip: Path) -> None:
    """A clip that is already partly transparent (an RGBA overlay, a shape masked in the edit)
    stays so: the matte was set as the mask in its place, showing what was hidden."""
    from moviepy import ImageClip

    with VideoFileClip(str(speaker_clip)) as source:
        half = np.ones((SIZE[1], SIZE[0]), np.float32)
        half[:, : SIZE[0] // 2] = 0
        masked = source.with_mask(ImageClip(half, is_mask=True, duration=source.duration))
        alpha = masked.with_effects([KeySpeaker()]).mask.get_frame(0.5)
        plain = source.with_effects([KeySpeaker()]).mask.get_frame(0.5)
        assert alpha[:, : SIZE[0] // 2].max() == 0
        np.testing.assert_allclose(alpha[:, SIZE[0] // 2 :], plain[:, SIZE[0] // 2 :], atol=1e-6)
    with pytest.raises(TypeError, match="settings must be a KeySettings, got dict"):
        KeySpeaker(settings={"tolerance": 0.2}).apply(ColorClip(SIZE, color=MAGENTA, duration=0.1))  # type: ignore[arg-type]
