"""Find the tutorials in a recordings folder: which speaker and screen recordings belong together.

The naming rule (documented for users in the README):

* **Flat:** ``NAME.speaker.EXT`` and ``NAME.screen.EXT`` side by side in the folder, optionally
  ``NAME.plate.EXT`` (a few seconds of the empty sheet), ``NAME.toml`` (the edit) and
  ``NAME.srt`` or ``NAME.vtt`` (captions; ``NAME.de.srt`` names their language).
* **One sub-folder per tutorial:** ``NAME/speaker.EXT`` and ``NAME/screen.EXT``, optionally
  ``NAME/plate.EXT``, ``NAME/edit.toml`` (or ``settings.toml``, its earlier name) and
  ``NAME/captions.srt`` (or ``.vtt``,
  ``captions.de.srt``).

``EXT`` is a video file's extension (see :data:`VIDEO_EXTENSIONS`) in any letter case; the role word (speaker/screen/plate) is
matched in any case too. Hidden files (starting with ".") are ignored. Every other file is
reported as unrecognised, so nothing is skipped without the user being told.
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from greenscreen.io.captions import CAPTION_SUFFIXES
from greenscreen.io.files import kind_of, os_reason, same_file

VIDEO_EXTENSIONS = (
    ".mp4", ".mkv", ".mov", ".webm", ".m4v", ".avi", ".flv", ".wmv", ".ts", ".mts", ".m2ts", ".dv", ".mpg",
    ".mpeg", ".3gp", ".mxf", ".ogv",
)
"""What recorders write: MP4/MOV/MKV/WebM, and AVI (USB webcams), FLV (older OBS), WMV (Windows),
MPEG-TS and AVCHD (camcorders), DV (FireWire capture), MPEG-PS, 3GP (old phones), MXF, Ogg."""
ROLES = ("speaker", "screen", "plate")
REQUIRED_ROLES = ("speaker", "screen")
CAPTIONS = "captions"
"""The role of a captions file (.srt or .vtt), kept with the recordings' roles."""
BATCH_FILE = "batch.toml"
FOLDER_EDIT_FILES = ("edit.toml", "settings.toml")
"""The edit file's names in a tutorial folder (``settings.toml`` is the name it had first)."""


@dataclass
class Tutorial:
    """One tutorial's recordings as found in the folder (possibly incomplete)."""

    name: str
    source: Path
    """Where it was found: the recordings folder (flat) or its sub-folder."""
    files: dict[str, list[Path]] = field(default_factory=dict)
    """Role -> every recording found for it (more than one is ambiguous)."""
    edit_files: list[Path] = field(default_factory=list)
    """``NAME.toml`` or ``NAME/edit.toml`` (two in a folder, edit.toml and settings.toml, clash)."""
    clash: bool = False
    """Found both as flat ``NAME.*`` files and as a ``NAME/`` sub-folder."""

    @property
    def settings_file(self) -> Path | None:
        """The tutorial's edit file, or None if there is none or two."""
        return self.edit_files[0] if len(self.edit_files) == 1 else None

    def get(self, role: str) -> Path | None:
        """The one recording for ``role``, or None if missing or ambiguous."""
        found = self.files.get(role, [])
        return found[0] if len(found) == 1 else None

    @property
    def speaker(self) -> Path | None:
        return self.get("speaker")

    @property
    def screen(self) -> Path | None:
        return self.get("screen")

    @property
    def plate(self) -> Path | None:
        return self.get("plate")

    @property
    def captions(self) -> Path | None:
        return self.get(CAPTIONS)

    def problem(self) -> str | None:
        """Why this tutorial cannot be rendered as found, or None if it can."""
        if self.clash:
            return f"found both as {self.name}.* files and as a {self.name}/ folder; keep one"
        for role in (*ROLES, CAPTIONS):
            found = self.files.get(role, [])
            if len(found) > 1:
                names = ", ".join(sorted(p.name for p in found))
                what = "captions file" if role == CAPTIONS else f"{role} recording"
                return f"more than one {what} ({names}); keep one"
        missing = [role for role in REQUIRED_ROLES if not self.files.get(role)]
        if missing:
            return f"no {' and no '.join(missing)} recording"
        return None

    @property
    def complete(self) -> bool:
        return self.problem() is None


@dataclass
class Unrecognised:
    """A file in the recordings folder that belongs to no tutorial."""

    path: Path
    reason: str


@dataclass
class Pairing:
    """Everything found in a recordings folder."""

    folder: Path
    tutorials: list[Tutorial]
    """Sorted by name; complete and incomplete ones (see :meth:`Tutorial.problem`)."""
    unrecognised: list[Unrecognised]
    batch_file: Path | None


def _split_role(filename: str) -> tuple[str, str] | None:
    """``"intro.Speaker.MKV"`` -> ``("intro", "speaker")``; None if not ``NAME.ROLE.EXT``."""
    stem, dot, ext = filename.rpartition(".")
    if not dot or f".{ext.lower()}" not in VIDEO_EXTENSIONS:
        return None
    name, dot, role = stem.rpartition(".")
    if not dot or not name or role.lower() not in ROLES:
        return None
    return name, role.lower()


def _folder_role(filename: str) -> str | None:
    """``"Screen.mov"`` -> ``"screen"`` inside a tutorial sub-folder; None otherwise."""
    stem, dot, ext = filename.rpartition(".")
    if dot and f".{ext.lower()}" in VIDEO_EXTENSIONS and stem.lower() in ROLES:
        return stem.lower()
    return None


def _is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_EXTENSIONS


def _captions_stem(path: Path) -> tuple[str, str] | None:
    """``"intro.de.srt"`` -> ``("intro.de", "intro")``: the name as written, and without a
    language part; None if ``path`` is no captions file."""
    if path.suffix.lower() not in CAPTION_SUFFIXES:
        return None
    stem = path.stem
    base, dot, language = stem.rpartition(".")
    return stem, (base if dot and base and len(language) in (2, 3) and language.isalpha() else stem)


def _odd(entry: Path) -> str | None:
    """Why ``entry`` is neither a regular file nor a folder (a named pipe, a device, a socket, a
    broken link or a link loop), or None if it is one of those. Such an entry is listed, never
    opened: opening a named pipe waits forever for a writer."""
    try:
        mode = os.stat(entry).st_mode
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return "a broken link (what it points to does not exist)"
        reason = os_reason(exc)
        return reason.removeprefix("is ")
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return f"{kind_of(mode)}, not a regular file (not read)"


def _entries(folder: Path) -> list[Path]:
    """The entries of ``folder``, sorted; raises OSError if it cannot be listed."""
    return sorted(folder.iterdir())


def find_tutorials(folder: str | Path, *, exclude: tuple[Path, ...] = ()) -> Pairing:
    """Pair up the recordings in ``folder`` by the naming rule in this module's docstring.

    Sub-folders in ``exclude`` (e.g. the output folder inside the recordings folder) are not
    searched. Paths in the result are absolute, so they stay valid in worker processes and on
    other machines that mount the same share at the same place.
    """
    folder = Path(folder).absolute()
    skip = [p for p in exclude if p.exists()]
    tutorials: dict[str, Tutorial] = {}
    unrecognised: list[Unrecognised] = []
    batch_file: Path | None = None
    # NAME.toml and NAME.srt files are matched to flat tutorials once all recordings are known.
    flat_toml: dict[str, list[Path]] = {}
    flat_captions: list[Path] = []

    for entry in _entries(folder):
        if entry.name.startswith("."):
            continue  # hidden: .DS_Store, editor swap files, our own temp files
        odd = _odd(entry)
        if odd is not None:
            unrecognised.append(Unrecognised(entry, odd))
            continue
        if entry.is_dir():
            if not any(same_file(entry, p) for p in skip):
                _scan_subfolder(entry, tutorials, unrecognised)
            continue
        if entry.name.lower() == BATCH_FILE:
            batch_file = entry
            continue
        if entry.suffix.lower() == ".toml":
            flat_toml.setdefault(tutorial_name(entry.stem), []).append(entry)
            continue
        if _captions_stem(entry) is not None:
            flat_captions.append(entry)
            continue
        split = _split_role(entry.name)
        if split is None:
            why = (
                "video not named NAME.speaker.EXT, NAME.screen.EXT or NAME.plate.EXT"
                if _is_video(entry)
                else "not a recording (expected a video such as .mp4, .mkv, .mov, .webm, .avi)"
            )
            unrecognised.append(Unrecognised(entry, why))
            continue
        name, role = tutorial_name(split[0]), split[1]
        tutorial = tutorials.get(name)
        if tutorial is not None and tutorial.source != folder:
            tutorial.clash = True  # a sub-folder of the same name was found first
            continue
        tutorial = tutorials.setdefault(name, Tutorial(name=name, source=folder))
        tutorial.files.setdefault(role, []).append(entry)

    for stem, paths in flat_toml.items():
        tutorial = tutorials.get(stem)
        if tutorial is not None and tutorial.source == folder:
            tutorial.edit_files += paths  # two (the name in two Unicode forms) clash
        else:
            unrecognised += [
                Unrecognised(path, f"edit file for '{stem}', but there is no {stem}.speaker/.screen")
                for path in paths
            ]

    for path in flat_captions:
        stem, base = (tutorial_name(n) for n in _captions_stem(path))  # type: ignore[union-attr]
        tutorial = next(
            (t for n in (stem, base) if (t := tutorials.get(n)) is not None and t.source == folder), None
        )
        if tutorial is not None:
            tutorial.files.setdefault(CAPTIONS, []).append(path)
        else:
            unrecognised.append(
                Unrecognised(path, f"captions for '{base}', but there is no {base}.speaker/.screen")
            )

    return Pairing(
        folder=folder,
        tutorials=[tutorials[n] for n in sorted(tutorials)],
        unrecognised=sorted(unrecognised, key=lambda u: u.path),
        batch_file=batch_file,
    )


def tutorial_name(file_name: str) -> str:
    """The tutorial name a file or folder name gives: in NFC form, so that names typed or
    copied on different systems (macOS writes "ü" as u + a combining diaeresis, NFD; Windows
    and Linux as one character, NFC) are one tutorial, not two that look alike."""
    return unicodedata.normalize("NFC", file_name)


def _scan_subfolder(sub: Path, tutorials: dict[str, Tutorial], unrecognised: list[Unrecognised]) -> None:
    name = tutorial_name(sub.name)
    tutorial = Tutorial(name=name, source=sub)
    try:
        entries = _entries(sub)
    except OSError as exc:
        unrecognised.append(Unrecognised(sub, f"folder cannot be read ({exc.strerror})"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        odd = _odd(entry)
        if odd is not None:
            unrecognised.append(Unrecognised(entry, odd))
            continue
        if entry.is_dir():
            # Whether or not ``sub`` is a tutorial: the search goes one level deep.
            unrecognised.append(Unrecognised(
                entry, "folders are searched one level deep: a tutorial's folder must be directly in the recordings folder"
            ))
        elif entry.name.lower() in FOLDER_EDIT_FILES:
            tutorial.edit_files.append(entry)
        elif (role := _folder_role(entry.name)) is not None:
            tutorial.files.setdefault(role, []).append(entry)
        elif (names := _captions_stem(entry)) is not None and names[1].lower() == CAPTIONS:
            tutorial.files.setdefault(CAPTIONS, []).append(entry)
        else:
            why = (
                "video in a tutorial folder must be named speaker.EXT, screen.EXT or plate.EXT"
                if _is_video(entry)
                else "captions in a tutorial folder must be named captions.srt or captions.vtt"
                if _captions_stem(entry) is not None
                else "not a recording, edit.toml or captions file"
            )
            unrecognised.append(Unrecognised(entry, why))
    if not any(role in tutorial.files for role in ROLES):
        for path in tutorial.edit_files:
            unrecognised.append(Unrecognised(path, "tutorial folder holds no recordings"))
        if not entries:
            unrecognised.append(Unrecognised(sub, "empty folder"))
        return  # a folder with no recordings is not a tutorial (e.g. an earlier output folder)
    existing = tutorials.get(name)
    if existing is not None:  # flat files of the same name were found first
        existing.clash = True
        return
    tutorials[name] = tutorial
