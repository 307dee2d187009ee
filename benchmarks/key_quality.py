"""Keying quality benchmark against ground truth: greenscreen key vs the ffmpeg chromakey baseline.

Runs ``greenscreen key`` (the CLI, in a subprocess) on every case of the matting-dev set and, in
the same run, ffmpeg ``chromakey`` + ``despill`` with the key colour taken as the median of the
frame border. Prints per case and per level (mean and median): SAD (sum |a - a_gt| / 1000),
MSE x 1e3 of alpha, composite PSNR and mean CIEDE2000 (keyed RGBA over ``screen.png`` vs the
ground-truth composite, 8-bit sRGB), and clip dtSSD x 100. Runs twice: without a plate and with
``<level>_plate.mp4`` as ``--plate``. Writes contact sheets (input | GT | ours | alpha error) to
``benchmarks/out/``. Then keys moving sequences built from every subject (see
:func:`run_sequences`) with one Keyer and with a fresh Keyer per frame, so state carried from
frame to frame is measured on more than the one clip. Then keys the synthetic speaker (seeds
0-4), whose soft shadow beside the body must key as sheet (:func:`run_synthetic_shadow`), and
the camera-drift clips (:func:`run_camera_drift`: white balance swing, exposure pump).
Finally times ``Keyer.key`` at 640x360 and 1280x720.

Usage::

    python benchmarks/key_quality.py [--data DIR] [--direct] [--only SUBSTR] [--no-ffmpeg]
                                     [--sequences-only] [--synthetic-only] [--drift-only]

``--data`` (or ``GREENSCREEN_MATTING_DEV``) overrides the data folder, by default
``../shared/data/matting-dev`` beside the repository. ``--direct`` keys in-process through
``greenscreen.key_export`` instead of the CLI (quicker while tuning; same code path).
``--sequences-only`` runs just the moving-sequence section, ``--synthetic-only`` just the
synthetic-speaker shadow section.
"""

from __future__ import annotations

import argparse
import io
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the generated test media (synthetic.py) live with the tests
DEFAULT_DATA = REPO.parent / "shared" / "data" / "matting-dev"
OUT = REPO / "benchmarks" / "out"
LEVELS = ("easy", "medium", "hard")
GREEN_SUBJECTS = ("am_GT04", "am_GT13")
CLIP = "p3m_p_818e689d__medium__video"

# Published reference figures (mean dE00, mean SAD) per level, from issue 3.
REFERENCE = {
    "ffmpeg (tuned)": {"easy": (3.74, 32.1), "medium": (4.27, 36.7), "hard": (3.94, 24.3)},
    "OpenCV HSV": {"easy": (1.79, 10.9), "medium": (2.43, 13.5), "hard": (3.53, 19.9)},
    "oracle": {"easy": (1.57, 9.0), "medium": (2.05, 11.6), "hard": (2.85, 14.8)},
}

# Moving sequences. Every level ships an empty-sheet plate; medium is the clip's level, so the
# sequences and the clip see the same kind of sheet and light.
SEQ_LEVEL = "medium"
SEQ_FRAMES = 20
SEQ_WIDTH = 640
#: Horizontal step per frame, in pixels at SEQ_WIDTH: 76 px over the sequence, enough to uncover
#: sheet the keyer has only seen behind the speaker and to cover sheet it has learnt.
SEQ_STEP = 4
#: Exposure of the last frame relative to the first (linear light), a lamp or auto-exposure drift.
SEQ_EXPOSURE_END = 0.75


# ---------------------------------------------------------------------------- colour metrics

def srgb_to_lab(rgb8: np.ndarray) -> np.ndarray:
    """8-bit sRGB (..., 3) RGB order -> CIE L*a*b* (D65), float64."""
    c = rgb8.astype(np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    L = 116 * f[..., 1] - 16
    a = 500 * (f[..., 0] - f[..., 1])
    b = 200 * (f[..., 1] - f[..., 2])
    return np.stack([L, a, b], axis=-1)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference (Sharma et al. 2005) between two (..., 3) Lab arrays."""
    L1, a1, b1 = np.moveaxis(lab1, -1, 0)
    L2, a2, b2 = np.moveaxis(lab2, -1, 0)
    C1, C2 = np.hypot(a1, b1), np.hypot(a2, b2)
    Cm = (C1 + C2) / 2
    G = 0.5 * (1 - np.sqrt(Cm**7 / (Cm**7 + 25.0**7)))
    a1p, a2p = (1 + G) * a1, (1 + G) * a2
    C1p, C2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dLp = L2 - L1
    dCp = C2p - C1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(C1p * C2p == 0, 0.0, dh)
    dHp = 2 * np.sqrt(C1p * C2p) * np.sin(np.radians(dh) / 2)
    Lpm = (L1 + L2) / 2
    Cpm = (C1p + C2p) / 2
    hsum = h1p + h2p
    hpm = np.where(np.abs(h1p - h2p) > 180, np.where(hsum < 360, hsum + 360, hsum - 360), hsum) / 2
    hpm = np.where(C1p * C2p == 0, hsum, hpm)
    T = (1 - 0.17 * np.cos(np.radians(hpm - 30)) + 0.24 * np.cos(np.radians(2 * hpm))
         + 0.32 * np.cos(np.radians(3 * hpm + 6)) - 0.20 * np.cos(np.radians(4 * hpm - 63)))
    dtheta = 30 * np.exp(-(((hpm - 275) / 25) ** 2))
    Rc = 2 * np.sqrt(Cpm**7 / (Cpm**7 + 25.0**7))
    Sl = 1 + 0.015 * (Lpm - 50) ** 2 / np.sqrt(20 + (Lpm - 50) ** 2)
    Sc = 1 + 0.045 * Cpm
    Sh = 1 + 0.015 * Cpm * T
    Rt = -np.sin(np.radians(2 * dtheta)) * Rc
    return np.sqrt((dLp / Sl) ** 2 + (dCp / Sc) ** 2 + (dHp / Sh) ** 2
                   + Rt * (dCp / Sc) * (dHp / Sh))


def composite8(fg_bgr: np.ndarray, alpha: np.ndarray, back_bgr: np.ndarray) -> np.ndarray:
    """Straight-alpha composite in 8-bit sRGB, rounded to uint8."""
    a = alpha[..., None].astype(np.float64)
    out = a * fg_bgr.astype(np.float64) + (1 - a) * back_bgr.astype(np.float64)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@dataclass
class Scores:
    """Alpha and composite errors of one keyed still."""

    sad: float
    mse: float
    psnr: float
    de00: float


def score(alpha: np.ndarray, fg: np.ndarray, gt_alpha: np.ndarray, gt_fg: np.ndarray,
          screen: np.ndarray) -> Scores:
    """Score one keyed still (alphas float in [0, 1], images BGR uint8)."""
    err = alpha.astype(np.float64) - gt_alpha
    ours = composite8(fg, alpha, screen)
    gt = composite8(gt_fg, gt_alpha, screen)
    mse8 = np.mean((ours.astype(np.float64) - gt) ** 2)
    psnr = 10 * np.log10(255.0**2 / max(mse8, 1e-10))
    de = ciede2000(srgb_to_lab(ours[..., ::-1]), srgb_to_lab(gt[..., ::-1]))
    return Scores(np.abs(err).sum() / 1000, np.mean(err**2) * 1e3, psnr, float(de.mean()))


def dtssd(alphas: list[np.ndarray], gts: list[np.ndarray]) -> float:
    """Temporal flicker: mean over t of the RMS of (a_t - a_t-1) - (g_t - g_t-1), x 100."""
    vals = []
    for t in range(1, len(alphas)):
        d = (alphas[t] - alphas[t - 1]) - (gts[t] - gts[t - 1])
        vals.append(np.sqrt(np.mean(d**2)))
    return float(np.mean(vals) * 100)


# ---------------------------------------------------------------------------- running keyers

def read_video(path: Path) -> list[np.ndarray]:
    """Decode all frames of a video as BGR uint8."""
    import av

    with av.open(str(path)) as c:
        return [f.to_ndarray(format="bgr24") for f in c.decode(video=0)]


def read_rgba_folder(folder: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """Read a folder of RGBA PNGs as (BGR uint8, alpha float) in name order."""
    out = []
    for p in sorted(folder.glob("*.png")):
        im = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        out.append((im[..., :3].copy(), im[..., 3].astype(np.float64) / 255.0))
    return out


def run_ours(video: Path, out: Path, plate: Path | None, direct: bool) -> float:
    """Key ``video`` into the PNG folder ``out``; return wall seconds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    if direct:
        from greenscreen.key_export import key_video

        key_video(video, out, plate=plate)
    else:
        cmd = [sys.executable, "-m", "greenscreen", "key", str(video), "-o", str(out), "-q"]
        if plate is not None:
            cmd += ["--plate", str(plate)]
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        if res.returncode != 0:
            raise RuntimeError(f"{shlex.join(cmd)} failed:\n{res.stderr[-2000:]}")
    return time.perf_counter() - t0


def run_ffmpeg(video: Path, out: Path) -> None:
    """The baseline: chromakey (colour = median of the frame border) then despill."""
    import imageio_ffmpeg

    first = read_video(video)[0]
    b = 4
    ring = np.concatenate([first[:b].reshape(-1, 3), first[-b:].reshape(-1, 3),
                           first[:, :b].reshape(-1, 3), first[:, -b:].reshape(-1, 3)])
    bb, gg, rr = (int(v) for v in np.median(ring, axis=0))
    colour = f"0x{rr:02X}{gg:02X}{bb:02X}"
    out.mkdir(parents=True, exist_ok=True)
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(video), "-vf",
           f"chromakey=color={colour}:similarity=0.05:blend=0.03,despill=type=green",
           "-pix_fmt", "rgba", str(out / "%06d.png")]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"{shlex.join(cmd)} failed:\n{res.stderr[-2000:]}")


# ---------------------------------------------------------------------------- reporting

def contact_sheet(path: Path, frame: np.ndarray, gt_alpha: np.ndarray, alpha: np.ndarray,
                  fg: np.ndarray, gt_fg: np.ndarray, screen: np.ndarray) -> None:
    """input | GT composite | our composite | alpha error (red = too opaque, blue = too clear)."""
    gt = composite8(gt_fg, gt_alpha, screen)
    ours = composite8(fg, alpha, screen)
    err = alpha - gt_alpha
    vis = np.zeros_like(frame)
    vis[..., 2] = np.clip(err * 255 * 2, 0, 255)
    vis[..., 0] = np.clip(-err * 255 * 2, 0, 255)
    vis[..., 1] = (gt_alpha * 40).astype(np.uint8)
    row = np.concatenate([frame, gt, ours, vis], axis=1)
    scale = min(1.0, 2400 / row.shape[1])
    row = cv2.resize(row, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(path), row)


def stats(values: list[float]) -> str:
    """'mean / median' of a list, formatted."""
    if not values:
        return "-"
    return f"{np.mean(values):6.2f} /{np.median(values):6.2f}"


def print_table(title: str, rows: list[dict], keyers: tuple[str, ...]) -> None:
    """Per level mean/median of every metric for every keyer."""
    print(f"\n== {title} ==")
    print(f"{'level':8s} {'keyer':8s} {'n':>3s} {'SAD mean/med':>15s} {'MSEx1e3 mean/med':>17s} "
          f"{'PSNR mean/med':>15s} {'dE00 mean/med':>15s}")
    for level in LEVELS:
        sel = [r for r in rows if r["level"] == level]
        for k in keyers:
            sc = [r[k] for r in sel if k in r]
            if not sc:
                continue
            print(f"{level:8s} {k:8s} {len(sc):3d} {stats([s.sad for s in sc]):>15s} "
                  f"{stats([s.mse for s in sc]):>17s} {stats([s.psnr for s in sc]):>15s} "
                  f"{stats([s.de00 for s in sc]):>15s}")


def check_targets(rows: list[dict], plate: bool) -> None:
    """Compare our per-level means with the reference figures of issue 3."""
    print("\ntargets (ours mean dE00 / SAD vs references):")
    for level in LEVELS:
        sc = [r["ours"] for r in rows if r["level"] == level]
        de, sad = np.mean([s.de00 for s in sc]), np.mean([s.sad for s in sc])
        o_de, o_sad = REFERENCE["oracle"][level]
        beats = all(de < REFERENCE[k][level][0] and sad < REFERENCE[k][level][1]
                    for k in ("ffmpeg (tuned)", "OpenCV HSV"))
        line = (f"  {level:7s} ours {de:5.2f} / {sad:5.1f}  beats ffmpeg+HSV: {'yes' if beats else 'NO'}"
                f"  oracle {o_de:.2f} / {o_sad:.1f}: dE00 {100 * (de / o_de - 1):+5.1f}%, "
                f"SAD {100 * (sad / o_sad - 1):+5.1f}%")
        if plate:
            line += f"  beats oracle: {'yes' if de < o_de and sad < o_sad else 'NO'}"
        else:
            line += f"  within 10% of oracle dE00: {'yes' if de <= 1.1 * o_de else 'NO'}"
        print(line)


def load_gt(case: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GT alpha (float64 [0, 1]), GT foreground and screen (BGR uint8)."""
    a = cv2.imread(str(case / "alpha.png"), cv2.IMREAD_GRAYSCALE).astype(np.float64) / 255.0
    return a, cv2.imread(str(case / "fg.png")), cv2.imread(str(case / "screen.png"))


def still_cases(data: Path, only: str = "") -> list[Path]:
    """The data set's case folders of still subjects (not the DEV clip) whose name holds ``only``."""
    return sorted(p for p in (data / "cases").iterdir() if p.is_dir() and p.name != CLIP and only in p.name)


def run(data: Path, use_plate: bool, args: argparse.Namespace, work: Path) -> list[dict]:
    """Key every still case (and the clip) once; print per-case lines; return the rows."""
    tag = "plate" if use_plate else "noplate"
    print(f"\n######## run: {'--plate <level>_plate.mp4' if use_plate else 'no plate'} ########")
    print(f"{'case':18s} {'level':7s} | {'ours SAD':>8s} {'MSE':>6s} {'PSNR':>6s} {'dE00':>5s} |"
          f" {'ffmpeg SAD':>10s} {'MSE':>6s} {'PSNR':>6s} {'dE00':>5s}")
    rows: list[dict] = []
    cases = still_cases(data)
    for case in cases:
        if args.only and args.only not in case.name:
            continue
        gt_a, gt_fg, screen = load_gt(case)
        for level in LEVELS:
            video = case / f"{level}.mp4"
            plate = case / f"{level}_plate.mp4" if use_plate else None
            row: dict = {"case": case.name, "level": level}
            out = work / tag / case.name / level
            run_ours(video, out / "ours", plate, args.direct)
            fg, a = read_rgba_folder(out / "ours")[0]
            row["ours"] = score(a, fg, gt_a, gt_fg, screen)
            if not args.no_ffmpeg:
                run_ffmpeg(video, out / "ffmpeg")
                ffg, fa = read_rgba_folder(out / "ffmpeg")[0]
                row["ffmpeg"] = score(fa, ffg, gt_a, gt_fg, screen)
            frame = read_video(video)[0]
            contact_sheet(OUT / f"{tag}_{case.name}_{level}.png", frame, gt_a, a, fg, gt_fg, screen)
            rows.append(row)
            o, f = row["ours"], row.get("ffmpeg")
            line = f"{case.name:18s} {level:7s} | {o.sad:8.2f} {o.mse:6.2f} {o.psnr:6.2f} {o.de00:5.2f} |"
            if f:
                line += f" {f.sad:10.2f} {f.mse:6.2f} {f.psnr:6.2f} {f.de00:5.2f}"
            print(line, flush=True)
    keyers = ("ours",) if args.no_ffmpeg else ("ours", "ffmpeg")
    main_rows = [r for r in rows if r["case"] not in GREEN_SUBJECTS]
    print_table(f"{tag}: all {len(cases)} subjects", rows, keyers)
    print_table(f"{tag}: without the green subjects", main_rows, keyers)
    print_table(f"{tag}: green subjects {', '.join(GREEN_SUBJECTS)}",
                [r for r in rows if r["case"] in GREEN_SUBJECTS], keyers)
    if rows and not args.only:
        check_targets(rows, use_plate)
    # The clip has no plate capture; it is keyed in the no-plate run only.
    clip = data / "cases" / CLIP
    if not use_plate and clip.is_dir() and (not args.only or args.only in CLIP):
        gts = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE).astype(np.float64) / 255.0
               for p in sorted((clip / "alpha").glob("*.png"))]
        out = work / tag / CLIP
        run_ours(clip / "input.mp4", out / "ours", None, args.direct)
        ours = [a for _, a in read_rgba_folder(out / "ours")]
        line = f"\nclip {CLIP}: ours dtSSD {dtssd(ours, gts):.2f}, SAD mean " \
               f"{np.mean([np.abs(a - g).sum() / 1000 for a, g in zip(ours, gts)]):.2f}"
        if not args.no_ffmpeg:
            run_ffmpeg(clip / "input.mp4", out / "ffmpeg")
            ff = [a for _, a in read_rgba_folder(out / "ffmpeg")]
            line += f"; ffmpeg dtSSD {dtssd(ff, gts):.2f}, SAD mean " \
                    f"{np.mean([np.abs(a - g).sum() / 1000 for a, g in zip(ff, gts)]):.2f}"
        print(line + "  (target dtSSD <= 2.5)")
    return rows


# ---------------------------------------------------------------------------- moving sequences

def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """sRGB values in [0, 1] -> linear light, same shape."""
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """Linear light in [0, 1] -> sRGB values in [0, 1], same shape."""
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)


def shift_x(image: np.ndarray, dx: int) -> np.ndarray:
    """Translate an (H, W, ...) array ``dx`` pixels to the right (left if negative), zero-filled."""
    out = np.zeros_like(image)
    if dx >= 0:
        out[:, dx:] = image[:, :image.shape[1] - dx]
    else:
        out[:, :dx] = image[:, -dx:]
    return out


def build_sequence(case: Path, level: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A moving, drifting-exposure sequence of one subject over the level's empty sheet.

    The GT foreground slides ``SEQ_STEP`` px per frame across the sheet (centred on its
    position in the still) while the exposure falls linearly to ``SEQ_EXPOSURE_END``. Each
    frame is composited like the dataset's GT composite, ``a*fg + (1-a)*back`` in 8-bit sRGB,
    with ``<level>_plate.mp4`` as the back; the plate has the level's sheet, light, noise and
    compression, but the composite has no cast shadow and no spill, which the dataset renders
    into ``<level>.mp4`` only. Frames are ``SEQ_WIDTH`` wide; the premultiplied foreground is
    shrunk rather than ``fg.png``, whose zeros outside the speaker would darken the edges.

    Returns (frames BGR uint8 (H, W, 3), GT alphas float64 (H, W) in [0, 1]).
    """
    gt_a, gt_fg, _ = load_gt(case)
    plate = read_video(case / f"{level}_plate.mp4")[0]
    h, w = gt_a.shape
    size = (SEQ_WIDTH, round(h * SEQ_WIDTH / w))
    alpha = cv2.resize(gt_a, size, interpolation=cv2.INTER_AREA)
    premult = cv2.resize(gt_a[..., None] * gt_fg.astype(np.float64), size,
                         interpolation=cv2.INTER_AREA)
    back = cv2.resize(plate, size, interpolation=cv2.INTER_AREA).astype(np.float64)
    frames, gts = [], []
    for t in range(SEQ_FRAMES):
        dx = (t - SEQ_FRAMES // 2) * SEQ_STEP
        a = shift_x(alpha, dx)
        comp = np.clip(np.rint(shift_x(premult, dx) + (1 - a[..., None]) * back), 0, 255)
        gain = 1 + (SEQ_EXPOSURE_END - 1) * t / (SEQ_FRAMES - 1)
        lit = linear_to_srgb(np.clip(srgb_to_linear(comp / 255.0) * gain, 0, 1))
        frames.append(np.rint(lit * 255).astype(np.uint8))
        gts.append(a)
    return frames, gts


def run_sequences(data: Path, only: str) -> None:
    """Key every subject's moving sequence with one Keyer and with a fresh Keyer per frame.

    A fresh Keyer per frame is what the still cases measure; the difference shows what the
    state carried across frames (screen model, learnt plate, temporal smoothing, speaker box)
    gains or loses while the speaker moves and the light drifts. Prints per case and overall
    mean SAD (sum |a - a_gt| / 1000, at the sequence resolution) and a one-line summary.
    """
    from greenscreen.key import Keyer

    t0 = time.perf_counter()
    print(f"\n######## moving sequences: level {SEQ_LEVEL}, {SEQ_FRAMES} frames, {SEQ_WIDTH} px wide,"
          f" {SEQ_STEP} px/frame, exposure 1 -> {SEQ_EXPOSURE_END} ########")
    print(f"{'case':18s} | {'seq SAD':>8s} {'fresh SAD':>9s} {'seq-fresh':>9s}")
    cases = still_cases(data, only)
    seq_means, fresh_means = [], []
    for case in cases:
        frames, gts = build_sequence(case, SEQ_LEVEL)
        keyer = Keyer()
        seq = [np.abs(keyer.key(f).alpha - g).sum() / 1000 for f, g in zip(frames, gts)]
        fresh = [np.abs(Keyer().key(f).alpha - g).sum() / 1000 for f, g in zip(frames, gts)]
        seq_means.append(float(np.mean(seq)))
        fresh_means.append(float(np.mean(fresh)))
        print(f"{case.name:18s} | {seq_means[-1]:8.2f} {fresh_means[-1]:9.2f} "
              f"{seq_means[-1] - fresh_means[-1]:+9.2f}", flush=True)
    if not cases:
        return
    diffs = np.array(seq_means) - np.array(fresh_means)
    worst = int(np.argmax(diffs))
    print(f"\nsequences ({SEQ_LEVEL}, {len(cases)} subjects x {SEQ_FRAMES} frames): mean SAD "
          f"sequential {np.mean(seq_means):.2f}, fresh {np.mean(fresh_means):.2f}, "
          f"diff {np.mean(diffs):+.2f}; worst case {cases[worst].name} {diffs[worst]:+.2f} "
          f"({time.perf_counter() - t0:.0f} s)")


#: Motion-blurred sequences: the speaker moves BLUR_STEP px per frame (at SEQ_WIDTH) with the
#: shutter open the whole frame, so every edge across the motion is a BLUR_STEP px wide mix.
BLUR_STEP = 12
BLUR_FRAMES = 6


def build_blurred_sequence(case: Path, level: str) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """:func:`build_sequence`'s subject moving ``BLUR_STEP`` px a frame, motion-blurred.

    Each frame averages ``BLUR_STEP`` one-pixel shifts in linear light (a camera's open
    shutter); its GT alpha is the average of the shifted alphas. Also returns the true
    composite of each frame over mid-grey (8-bit sRGB), what a keyer's composite over grey
    should look like. Returns (frames, GT alphas, grey composites).
    """
    gt_a, gt_fg, _ = load_gt(case)
    plate = read_video(case / f"{level}_plate.mp4")[0]
    h, w = gt_a.shape
    size = (SEQ_WIDTH, round(h * SEQ_WIDTH / w))
    alpha = cv2.resize(gt_a, size, interpolation=cv2.INTER_AREA)
    premult = cv2.resize(gt_a[..., None] * gt_fg.astype(np.float64), size, interpolation=cv2.INTER_AREA)
    back = cv2.resize(plate, size, interpolation=cv2.INTER_AREA).astype(np.float64)
    grey = np.full_like(back, 128.0)
    frames, gts, truths = [], [], []
    for t in range(BLUR_FRAMES):
        start = (t - BLUR_FRAMES // 2) * BLUR_STEP
        lit, over_grey, a_sum = np.zeros_like(back), np.zeros_like(back), np.zeros_like(alpha)
        for k in range(BLUR_STEP):
            a = shift_x(alpha, start + k)
            p = shift_x(premult, start + k)
            lit += srgb_to_linear(np.clip(p + (1 - a[..., None]) * back, 0, 255) / 255.0)
            over_grey += srgb_to_linear(np.clip(p + (1 - a[..., None]) * grey, 0, 255) / 255.0)
            a_sum += a
        frames.append(np.rint(linear_to_srgb(lit / BLUR_STEP) * 255).astype(np.uint8))
        truths.append(np.rint(linear_to_srgb(over_grey / BLUR_STEP) * 255).astype(np.uint8))
        gts.append(a_sum / BLUR_STEP)
    return frames, gts, truths


def run_motion_blur(data: Path, only: str) -> None:
    """Key every subject's motion-blurred sequence (:func:`build_blurred_sequence`) with one
    Keyer and measure the rims of the blurred edges.

    Per case, over the frames from the third on: SAD of alpha, mean CIEDE2000 of the composite
    over mid-grey within the soft band (GT alpha 0.02-0.98), and the mean CIELAB a* and b* shift
    of our composite from the true one in the band's inner (GT alpha >= 0.5) and outer half. A
    green, olive rim shows as a* < 0 (b* > 0 if yellowish), a pink or magenta one as a* > 0.
    Writes a contact sheet (input | true composite over grey | ours | alpha error) of the last
    frame per case to ``benchmarks/out/blur_<case>.png``.
    """
    from greenscreen.key import Keyer

    t0 = time.perf_counter()
    print(f"\n######## motion blur: level {SEQ_LEVEL}, {BLUR_FRAMES} frames, {SEQ_WIDTH} px wide,"
          f" {BLUR_STEP} px/frame with the shutter open ########")
    print(f"{'case':18s} | {'SAD':>6s} {'band dE00':>9s} | {'inner da*':>9s} {'db*':>6s} | {'outer da*':>9s} {'db*':>6s}")
    cases = still_cases(data, only)
    OUT.mkdir(parents=True, exist_ok=True)
    rows = []
    for case in cases:
        frames, gts, truths = build_blurred_sequence(case, SEQ_LEVEL)
        keyer = Keyer()
        sad, de, inner, outer = [], [], [], []
        for t, (frame, gt, truth) in enumerate(zip(frames, gts, truths)):
            result = keyer.key(frame)
            if t < 2:
                continue
            a = result.alpha.astype(np.float64)
            ours = np.clip(np.rint(result.foreground * a[..., None] + 128.0 * (1 - a[..., None])), 0, 255)
            lab_ours = srgb_to_lab(ours.astype(np.uint8)[..., ::-1])
            lab_true = srgb_to_lab(truth[..., ::-1])
            band = (gt > 0.02) & (gt < 0.98)
            shift = lab_ours - lab_true
            sad.append(np.abs(a - gt).sum() / 1000)
            de.append(float(ciede2000(lab_ours[band], lab_true[band]).mean()))
            inner.append(shift[band & (gt >= 0.5)][:, 1:].mean(axis=0))
            outer.append(shift[band & (gt < 0.5)][:, 1:].mean(axis=0))
        row = (float(np.mean(sad)), float(np.mean(de)), *np.mean(inner, axis=0), *np.mean(outer, axis=0))
        rows.append(row)
        print(f"{case.name:18s} | {row[0]:6.2f} {row[1]:9.2f} | {row[2]:+9.2f} {row[3]:+6.2f} |"
              f" {row[4]:+9.2f} {row[5]:+6.2f}", flush=True)
        err = a - gt
        vis = np.zeros_like(frame)
        vis[..., 2] = np.clip(err * 255 * 2, 0, 255)
        vis[..., 0] = np.clip(-err * 255 * 2, 0, 255)
        vis[..., 1] = (gt * 40).astype(np.uint8)
        cv2.imwrite(str(OUT / f"blur_{case.name}.png"),
                    np.concatenate([frame, truth, ours.astype(np.uint8), vis], axis=1))
    if rows:
        m = np.mean(rows, axis=0)
        print(f"\nmotion blur ({len(rows)} subjects): SAD {m[0]:.2f}, band dE00 {m[1]:.2f}, inner a*/b* "
              f"{m[2]:+.2f}/{m[3]:+.2f}, outer a*/b* {m[4]:+.2f}/{m[5]:+.2f} ({time.perf_counter() - t0:.0f} s)")


def run_synthetic_shadow() -> None:
    """Key the synthetic speaker (seeds 0-4, 45 frames at 632x356) against its exact GT alpha.

    Seeds 1-3 cast the speaker's soft shadow on the sheet beside the shoulder and neck, where
    the screen model used to leave a dark, part-opaque halo; "alpha on true sheet" (sum of
    alpha where the GT is below 0.01, / 1000) measures it. Frames from 10 on are also given
    alone: the first few frames of seeds 1-3 carried a separate start-up error on the dim side
    of the sheet (no learnt plate yet). The frames are keyed as rendered and, in the last
    column, after libx264 (crf 23, 4:2:0), which blurs the shadow's edge into the body's and
    is where the halo shows most.
    """
    import synthetic
    from greenscreen.key import Keyer

    t0 = time.perf_counter()
    print("\n######## synthetic speaker: soft shadow beside the body (632x356, 45 frames) ########")
    print(f"{'seed':4s} | {'SAD':>5s} {'on sheet':>8s} | {'SAD 10+':>7s} {'sheet 10+':>9s} | {'H.264 sheet 10+':>15s}")
    for seed in range(5):
        frames = [synthetic.speaker_frame(2.0 + i / 30, (632, 356), seed=seed) for i in range(45)]
        figures = []
        for pictures in ([bgr for bgr, _ in frames], _x264_roundtrip([bgr for bgr, _ in frames])):
            keyer = Keyer()
            sads, false_bg = [], []
            for bgr, (_, gt) in zip(pictures, frames):
                alpha = keyer.key(bgr).alpha
                sads.append(np.abs(alpha - gt).sum() / 1000)
                false_bg.append(float((alpha * (gt < 0.01)).sum() / 1000))
            figures.append((sads, false_bg))
        (sads, false_bg), (_, coded_bg) = figures
        print(f"{seed:4d} | {np.mean(sads):5.2f} {np.mean(false_bg):8.2f} | "
              f"{np.mean(sads[10:]):7.2f} {np.mean(false_bg[10:]):9.3f} | {np.mean(coded_bg[10:]):15.3f}",
              flush=True)
    print(f"({time.perf_counter() - t0:.0f} s)")


def run_camera_drift() -> None:
    """Key the camera-drift clips of ``tests/camera_drift.py``: the synthetic speaker walking
    while the camera's white balance swings 20-30 % per channel within half a second, or its
    exposure pumps. Prints, over all frames, the worst 99th percentile of alpha on the sheet (4 px
    clear of the speaker) and on the sheet the speaker covered in an earlier frame (a ghost of
    old positions); both must stay <= 0.02. The "interrupted" clips show one flat colour for half
    a second (the lens covered, the sheet alone), then the speaker again. Writes contact sheets to ``benchmarks/out/drift_*.png``:
    every fifth frame, the input above its alpha amplified 4x (a 0.05 veil shows as 0.2 grey).
    """
    import camera_drift

    from greenscreen.key import Keyer

    t0 = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    print("\n######## camera drift: auto white balance and exposure while the speaker walks ########")
    print(f"{'clip':28s} | {'sheet p99':>9s} {'ghost p99':>9s} {'sheet mean':>10s} | {'SAD mean':>8s}")
    clips = [(f"wb {name} {w}x{h}", (w, h), lambda size, sw=swing: camera_drift.white_balance_swing(size=size, swing=sw))
             for name, swing in (("to-mint", (1.28, 1.0, 0.76)), ("less-green", (1.25, 0.8, 1.0)),
                                 ("green-down", (1.0, 0.75, 1.0)))
             for w, h in ((320, 180), (632, 356))]
    clips += [(f"exposure pump {w}x{h}", (w, h), lambda size: camera_drift.exposure_pump(size=size))
              for w, h in ((320, 180), (632, 356))]
    # Half a second of something else: the lens covered, the sheet alone filling the picture.
    clips += [(f"interrupted {name} {w}x{h}", (w, h), lambda size, f=fill: camera_drift.interrupted(f, size=size))
              for name, fill in (("black", (0, 0, 0)), ("flat-green", (64, 177, 0)))
              for w, h in ((320, 180), (632, 356))]
    for name, size, make in clips:
        clip = make(size)
        keyer = Keyer()
        covered = np.zeros(clip.alphas[0].shape, bool)
        sheet_worst = ghost_worst = mean_worst = 0.0
        sads, tiles = [], []
        for i, (frame, truth) in enumerate(zip(clip.frames, clip.alphas)):
            alpha = keyer.key(frame).alpha
            sheet = camera_drift.sheet_mask(truth)
            ghost = sheet & covered
            if sheet.any():  # (none while the lens is covered)
                sheet_worst = max(sheet_worst, float(np.percentile(alpha[sheet], 99)))
                mean_worst = max(mean_worst, float(alpha[sheet].mean()))
            if ghost.sum() > 50:
                ghost_worst = max(ghost_worst, float(np.percentile(alpha[ghost], 99)))
            covered |= truth > 0.5
            sads.append(np.abs(alpha - truth).sum() / 1000)
            if i % 5 == 0:
                grey = np.clip(alpha * 4 * 255, 0, 255).astype(np.uint8)
                tiles.append(np.vstack([frame, cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)]))
        cv2.imwrite(str(OUT / f"drift_{name.replace(' ', '_')}.png"), np.hstack(tiles))
        print(f"{name:28s} | {sheet_worst:9.3f} {ghost_worst:9.3f} {mean_worst:10.4f} | {np.mean(sads):8.2f}",
              flush=True)
    print(f"({time.perf_counter() - t0:.0f} s)")


def _x264_roundtrip(pictures: list[np.ndarray]) -> list[np.ndarray]:
    """BGR frames encoded with libx264 (crf 23, yuv420p) in memory and decoded again."""
    buffer = io.BytesIO()
    h, w = pictures[0].shape[:2]
    with av.open(buffer, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=30, options={"crf": "23", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for bgr in pictures:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(bgr, format="bgr24")))
        out.mux(stream.encode(None))
    buffer.seek(0)
    with av.open(buffer) as decoded:
        return [f.to_ndarray(format="bgr24") for f in decoded.decode(video=0)]


def time_keyer(data: Path) -> None:
    """Milliseconds per frame of Keyer.key at picture-in-picture sizes, on a real case frame.

    Prints the wall time (best of 5 runs of 10 frames, cv2 on all cores) and the CPU time per
    frame (all threads; less sensitive to other processes sharing the machine), plus the load.
    """
    from greenscreen.key import Keyer

    frame = read_video(data / "cases" / "p3m_p_09ba26b4" / "hard.mp4")[0]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\nKeyer.key timing ({os.cpu_count()} cores, load average {load:.1f}):")
    for w, h in ((640, 360), (1280, 720)):
        small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        keyer = Keyer()
        for _ in range(3):
            keyer.key(small)
        best = float("inf")
        cpu0 = time.process_time()
        for _ in range(5):
            t0 = time.perf_counter()
            for _ in range(10):
                keyer.key(small)
            best = min(best, (time.perf_counter() - t0) / 10 * 1000)
        cpu = (time.process_time() - cpu0) / 50 * 1000
        print(f"  {w}x{h}: {best:.1f} ms/frame wall (best of 5), {cpu:.1f} ms/frame CPU")


def main() -> None:
    """Parse arguments, run both passes and the moving sequences, print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path,
                    default=Path(os.environ.get("GREENSCREEN_MATTING_DEV", DEFAULT_DATA)))
    ap.add_argument("--direct", action="store_true", help="key in-process, not via the CLI")
    ap.add_argument("--only", default="", help="only cases whose name contains this")
    ap.add_argument("--no-ffmpeg", action="store_true", help="skip the ffmpeg baseline")
    ap.add_argument("--no-plate-run", action="store_true", help="skip the run with --plate")
    ap.add_argument("--plate-only", action="store_true", help="only the run with --plate")
    ap.add_argument("--sequences-only", action="store_true",
                    help="only the moving sequences (one Keyer vs a fresh one per frame)")
    ap.add_argument("--drift-only", action="store_true",
                    help="only the camera-drift clips (white balance swing, exposure pump; no data needed)")
    ap.add_argument("--blur-only", action="store_true",
                    help="only the motion-blurred sequences (rims on blurred edges)")
    ap.add_argument("--synthetic-only", action="store_true",
                    help="only the synthetic speaker's shadow section (no data needed)")
    args = ap.parse_args()
    if args.synthetic_only:
        run_synthetic_shadow()
        return
    if args.drift_only:
        run_camera_drift()
        return
    if not (args.data / "cases").is_dir():
        sys.exit(f"matting-dev data not found at {args.data} (use --data or GREENSCREEN_MATTING_DEV)")
    if args.sequences_only:
        run_sequences(args.data, args.only)
        return
    if args.blur_only:
        run_motion_blur(args.data, args.only)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.plate_only:
            run(args.data, False, args, Path(tmp))
        if not args.no_plate_run:
            run(args.data, True, args, Path(tmp))
    run_sequences(args.data, args.only)
    run_motion_blur(args.data, args.only)
    run_synthetic_shadow()
    run_camera_drift()
    time_keyer(args.data)


if __name__ == "__main__":
    main()
