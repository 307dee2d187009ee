"""Work out what a batch will do before it does anything: settings, validation and fingerprints.

Settings of one tutorial, lowest to highest priority:

1. the defaults;
2. presets: the tutorial's own ``preset`` if it names any, else ``--preset``, else the
   ``preset`` at the top of ``batch.toml``; a list of presets applies in order, later ones win
   (e.g. a key preset plus a layout preset, as with ``render -p A -p B``);
3. the folder-wide tables at the top of ``batch.toml`` (``[layout]``, ``[timeline]`` ...);
4. the tutorial's ``[tutorials.NAME]`` table in ``batch.toml``;
5. the settings file beside the recordings (``NAME.toml`` or ``NAME/settings.toml``).

Every problem in every settings file is collected into one :class:`BatchConfigError` before any
rendering starts.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from greenscreen import __version__
from greenscreen.batch.pairing import Pairing, Tutorial, Unrecognised, find_tutorials
from greenscreen.config import RenderSettings
from greenscreen.errors import GreenscreenError, SettingsError
from greenscreen.io.atomic import side_file
from greenscreen.presets import GROUPS, PresetError, load_preset
from greenscreen.settings import parse_clock, replace_checked
from greenscreen.sync import sync_wanted

SHORTHANDS: dict[str, tuple[str, str]] = {
    "title": ("timeline", "title"),
    "offset": ("timeline", "offset"),
    "audio": ("timeline", "audio"),
    "start": ("timeline", "start"),
    "end": ("timeline", "end"),
    "corner": ("layout", "corner"),
}
"""Top-level keys of a tutorial's settings that stand for a key in a settings group."""

SPECIAL_KEYS = ("preset", "trim", "layout")
"""``preset = "name"`` or ``["a", "b"]``; ``trim = [start, end]``; ``layout = "pip"`` (a string)
or a ``[layout]`` table."""

SIDECAR_SUFFIX = ".json"
SAMPLE_BYTES = 64 * 1024
"""Bytes hashed from the head and the tail of each recording for its fingerprint."""

Action = Literal["render", "skip", "fail"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a settings file."""

    file: Path | None
    key: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        return f"{where}{self.key}: {self.reason}" if self.key else f"{where}{self.reason}"


class BatchConfigError(SettingsError):
    """The batch settings hold mistakes; :attr:`problems` lists every one."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{problems[0]}{more}")


@dataclass
class TutorialSettings:
    """The overrides one settings source gives, already checked."""

    presets: tuple[str, ...] = ()
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = ""


@dataclass
class Job:
    """Everything a worker needs to render one tutorial. Picklable; paths are absolute."""

    name: str
    speaker: Path
    screen: Path
    plate: Path | None
    output: Path
    settings: RenderSettings
    record: dict[str, Any]
    """The fingerprint record written beside the output once the render has been renamed into place."""
    sidecar: Path
    progress_file: Path
    sync_by_sound: bool = False
    """No offset was set: line the recordings up by their sound before rendering."""
    captions: Path | None = None
    """Captions picked up beside the recordings (``NAME.srt``, ``NAME/captions.vtt``)."""
    check: bool = False
    """Check the recordings (``greenscreen check``) before rendering (``batch --check``)."""


@dataclass
class PlanEntry:
    """What the batch does with one tutorial, and why."""

    name: str
    action: Action
    reason: str
    output: Path
    job: Job | None = None
    inputs: dict[str, Path] = field(default_factory=dict)


@dataclass
class BatchPlan:
    """The full plan: one entry per complete (or ambiguous) tutorial plus everything left over."""

    folder: Path
    output: Path
    entries: list[PlanEntry]
    incomplete: list[Tutorial]
    """Tutorials with a speaker but no screen recording or the other way round."""
    unrecognised: list[Unrecognised]

    def by_action(self, action: Action) -> list[PlanEntry]:
        return [e for e in self.entries if e.action == action]


def sidecar_path(output: Path) -> Path:
    """Where the fingerprint record of ``output`` lives: ``.NAME.mp4.json`` beside it."""
    return side_file(output, SIDECAR_SUFFIX)


def progress_path(output: Path) -> Path:
    """The small file a worker keeps its progress in while rendering ``output``."""
    return side_file(output, ".progress")


# ---------------------------------------------------------------------------------------------
# Settings files
# ---------------------------------------------------------------------------------------------


def _read_toml(path: Path, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a BOM, as Windows editors write
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(path, "", f"cannot read ({exc})"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(path, "", f"not valid TOML ({exc})"))
    return None


def preset_problems(name: str, file: Path | None, key: str) -> list[Problem]:
    """Why preset ``name`` cannot be used (an empty list if it can)."""
    try:
        load_preset(name)
    except PresetError as exc:  # the preset exists but holds mistakes: report them in its file
        return [Problem(exc.path, "", p) for p in exc.problems]
    except GreenscreenError as exc:  # unknown name, missing file
        return [Problem(file, key, exc.message)]
    return []


def _check_group_value(group: str, key: str, value: Any) -> str | None:
    """Why ``value`` is not allowed for ``group.key`` (None if it is), via the settings schema."""
    _, problems = replace_checked(getattr(RenderSettings(), group), {key: value})
    if not problems:
        return None
    # The schema's message starts with the key, which the Problem already names.
    return problems[0].removeprefix(f"'{key}' ")


def parse_tutorial_table(
    data: dict[str, Any], *, file: Path | None, prefix: str, problems: list[Problem]
) -> TutorialSettings:
    """Check one table of per-tutorial (or folder-wide) settings; append every mistake to ``problems``.

    ``prefix`` names the table in messages (e.g. ``"[tutorials.intro]"``).
    """
    out = TutorialSettings(source=f"{file}{' ' + prefix if prefix else ''}" if file else prefix)

    def put(group: str, key: str, value: Any, shown: str) -> None:
        reason = _check_group_value(group, key, value)
        if reason:
            problems.append(Problem(file, shown, reason))
        else:
            out.overrides.setdefault(group, {})[key] = value

    def label(key: str) -> str:
        return f"{prefix} {key}".strip()

    for key, value in data.items():
        if key == "preset":
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
                problems.append(
                    Problem(file, label(key), f"must be a preset name or a list of names, got {value!r}")
                )
                continue
            found = [preset_problems(n, file, label(key)) for n in names]
            problems.extend(p for group in found for p in group)
            if not any(found):
                out.presets = tuple(names)
        elif key == "trim":
            if (
                not isinstance(value, list)
                or len(value) != 2
                or not all(
                    (isinstance(v, int | float) and not isinstance(v, bool))
                    or (isinstance(v, str) and parse_clock(v) is not None)
                    for v in value
                )
            ):
                problems.append(
                    Problem(file, label(key), f"must be [start, end] in seconds or as 1:20.5, got {value!r}")
                )
                continue
            # Strings such as "1:20" are read by the settings schema (start and end are clock times).
            put("timeline", "start", value[0] if isinstance(value[0], str) else float(value[0]), label("trim"))
            put("timeline", "end", value[1] if isinstance(value[1], str) else float(value[1]), label("trim"))
        elif key in GROUPS and isinstance(value, dict):
            for sub, sub_value in value.items():
                put(key, sub, sub_value, label(f"{key}.{sub}"))
        elif key == "layout":
            put("layout", "layout", value, label(key))
        elif key in SHORTHANDS:
            group, name = SHORTHANDS[key]
            put(group, name, value, label(key))
        elif key in GROUPS:
            problems.append(Problem(file, label(key), f"must be a table of {key} settings"))
        else:
            known = [*SHORTHANDS, *SPECIAL_KEYS, *GROUPS]
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(Problem(file, label(key), f"unknown key{hint}"))
    return out


@dataclass
class BatchFile:
    """The parsed ``batch.toml``: folder-wide settings and per-tutorial tables."""

    folder_wide: TutorialSettings
    tutorials: dict[str, TutorialSettings]


def parse_batch_file(path: Path | None, names: list[str], problems: list[Problem]) -> BatchFile:
    """Read ``batch.toml`` (if any); ``names`` are the tutorials found, to catch misspelt tables."""
    empty = BatchFile(TutorialSettings(source="batch.toml"), {})
    if path is None:
        return empty
    data = _read_toml(path, problems)
    if data is None:
        return empty
    tables = data.pop("tutorials", {})
    folder_wide = parse_tutorial_table(data, file=path, prefix="", problems=problems)
    tutorials: dict[str, TutorialSettings] = {}
    if not isinstance(tables, dict):
        problems.append(Problem(path, "tutorials", "must be tables: [tutorials.NAME]"))
        tables = {}
    for name, table in tables.items():
        prefix = f"[tutorials.{name}]"
        if name not in names:
            close = difflib.get_close_matches(name, names, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(Problem(path, prefix, f"no tutorial named '{name}' in the folder{hint}"))
            continue
        if not isinstance(table, dict):
            problems.append(Problem(path, prefix, "must be a table of settings"))
            continue
        tutorials[name] = parse_tutorial_table(table, file=path, prefix=prefix, problems=problems)
    return BatchFile(folder_wide, tutorials)


def resolve_settings(
    name: str, layers: list[TutorialSettings], cli_presets: tuple[str, ...], problems: list[Problem]
) -> RenderSettings | None:
    """Combine the layers (lowest priority first) into one tutorial's settings.

    ``layers[0]`` is the folder-wide layer; presets named in a later layer replace the folder's.
    A preset that cannot be loaded has been reported by the caller; None is returned then.
    """
    presets = cli_presets or layers[0].presets
    for layer in layers[1:]:
        presets = layer.presets or presets
    settings = RenderSettings()
    try:
        for preset in presets:
            settings = load_preset(preset, base=settings)
    except GreenscreenError:
        return None
    for layer in layers:
        groups = {
            group: replace_checked(getattr(settings, group), values)[0]
            for group, values in layer.overrides.items()
        }
        settings = dataclasses.replace(settings, **groups)
    tl = settings.timeline
    if tl.end and tl.end <= tl.start:
        problems.append(Problem(None, f"tutorial '{name}'", f"trim end {tl.end:g} s is not after start {tl.start:g} s"))
        return None
    if not tl.title:
        # A useful default for the MP4's title (shown by players and media libraries).
        settings = dataclasses.replace(settings, timeline=dataclasses.replace(tl, title=name))
    return settings


# ---------------------------------------------------------------------------------------------
# Fingerprints
# ---------------------------------------------------------------------------------------------


def input_identity(path: Path, root: Path) -> dict[str, Any]:
    """What identifies a recording's content cheaply: size, mtime and a hash of head and tail.

    The path is stored relative to the recordings folder so the fingerprint does not change when
    another machine mounts the share elsewhere. Hashing 64 KiB from each end catches a replaced
    file that kept its size and timestamp, without reading gigabytes over the network.
    """
    st = path.stat()
    digest = hashlib.sha256()
    with path.open("rb") as f:
        digest.update(f.read(SAMPLE_BYTES))
        if st.st_size > 2 * SAMPLE_BYTES:
            f.seek(-SAMPLE_BYTES, os.SEEK_END)
            digest.update(f.read(SAMPLE_BYTES))
    try:
        rel = path.relative_to(root).as_posix()
    except ValueError:
        rel = path.as_posix()
    return {"path": rel, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sample_sha256": digest.hexdigest()}


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def make_record(
    inputs: dict[str, Path], root: Path, settings: RenderSettings, *, sync_by_sound: bool = False
) -> dict[str, Any]:
    """The fingerprint record of a render: inputs, effective settings and greenscreen version.

    With ``sync_by_sound`` the offset is found from the recordings when rendering; the found
    offset and drift are added to the record then (key ``sync``). They follow from the
    recordings, which the fingerprint covers, so the mode is part of the fingerprint, not them.
    """
    identities = {role: input_identity(p, root) for role, p in sorted(inputs.items())}
    settings_dict = dataclasses.asdict(settings)
    settings_key: dict[str, Any] = {"settings": settings_dict, "greenscreen": __version__}
    if sync_by_sound:
        settings_key["sync"] = "by sound"
    record = {
        "greenscreen": __version__,
        "inputs": identities,
        "settings": settings_dict,
        "settings_sha256": _digest(settings_key),
        "inputs_sha256": _digest(identities),
    }
    record["fingerprint"] = _digest(
        {"inputs": record["inputs_sha256"], "settings": record["settings_sha256"]}
    )
    return record


def read_sidecar(path: Path) -> dict[str, Any] | None:
    """The stored record, or None if missing or unreadable (treated as "not rendered")."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def why_render(output: Path, record: dict[str, Any]) -> str | None:
    """Why ``output`` must be (re)rendered for ``record``, or None if it is up to date."""
    if not output.exists():
        return "not rendered yet"
    stored = read_sidecar(sidecar_path(output))
    if stored is None:
        return "output has no fingerprint (rendered outside a batch, or interrupted)"
    st = output.stat()
    if stored.get("output") != {"size": st.st_size, "mtime_ns": st.st_mtime_ns}:
        return "output file was changed since it was rendered"
    if stored.get("fingerprint") == record["fingerprint"]:
        return None
    reasons = []
    if stored.get("settings_sha256") != record["settings_sha256"]:
        reasons.append("settings changed")
    if stored.get("inputs_sha256") != record["inputs_sha256"]:
        old = stored.get("inputs") or {}
        changed = [role for role, ident in record["inputs"].items() if old.get(role) != ident]
        reasons.append(f"recording changed ({', '.join(changed) or 'inputs'})")
    return "; ".join(reasons) or "fingerprint changed"


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------


def plan_batch(
    folder: str | Path,
    output: str | Path,
    *,
    preset: str | tuple[str, ...] | None = None,
    force: bool = False,
) -> BatchPlan:
    """Pair the recordings, check every settings file and decide what to render.

    Raises :class:`BatchConfigError` listing every settings problem (nothing has been rendered
    then), or :class:`GreenscreenError` if the folders themselves are unusable. Reading the plan
    has no side effects, which is what ``--dry-run`` shows.
    """
    folder = Path(folder).absolute()
    output = Path(output).absolute()
    if not folder.is_dir():
        raise GreenscreenError("recordings folder not found", folder)
    if output == folder:
        raise GreenscreenError("write the outputs to a separate folder, not into the recordings folder", output)
    if output.exists() and not output.is_dir():
        raise GreenscreenError("output must be a folder", output)
    problems: list[Problem] = []
    cli_presets = (preset,) if isinstance(preset, str) else tuple(preset or ())
    for name in cli_presets:
        problems += preset_problems(name, None, "--preset")

    try:
        pairing: Pairing = find_tutorials(folder, exclude=(output,))
    except OSError as exc:  # e.g. a sub-folder without read permission, a share gone away
        raise GreenscreenError(f"cannot list the recordings ({exc.strerror})", exc.filename or folder) from None
    names = [t.name for t in pairing.tutorials]
    batch = parse_batch_file(pairing.batch_file, names, problems)

    entries: list[PlanEntry] = []
    incomplete: list[Tutorial] = []
    folded: dict[str, list[str]] = {}
    for t in pairing.tutorials:
        folded.setdefault(t.name.casefold(), []).append(t.name)
    for tutorial in pairing.tutorials:
        target = output / f"{tutorial.name}.mp4"
        layers = [batch.folder_wide]
        if tutorial.name in batch.tutorials:
            layers.append(batch.tutorials[tutorial.name])
        if tutorial.settings_file is not None:
            data = _read_toml(tutorial.settings_file, problems)
            if data is not None:
                layers.append(parse_tutorial_table(data, file=tutorial.settings_file, prefix="", problems=problems))
        why_not = tutorial.problem()
        if why_not is not None and not any(len(v) > 1 for v in tutorial.files.values()) and not tutorial.clash:
            incomplete.append(tutorial)  # only one half present: listed, not a failure
            continue
        if why_not is None and len(folded[tutorial.name.casefold()]) > 1:
            others = [n for n in folded[tutorial.name.casefold()] if n != tutorial.name]
            why_not = f"name differs only in letter case from {', '.join(others)}; rename one"
        if why_not is not None:
            entries.append(PlanEntry(tutorial.name, "fail", why_not, target))
            continue
        settings = resolve_settings(tutorial.name, layers, cli_presets, problems)
        if settings is None:
            continue
        inputs = {role: p for role in ("speaker", "screen", "plate", "captions") if (p := tutorial.get(role))}
        given = any(k in layer.overrides.get("timeline", {}) for layer in layers for k in ("offset", "drift"))
        by_sound = sync_wanted(settings, given=given)
        try:
            record = make_record(inputs, folder, settings, sync_by_sound=by_sound)
        except OSError as exc:
            entries.append(PlanEntry(tutorial.name, "fail", f"cannot read recording ({exc})", target, inputs=inputs))
            continue
        job = Job(
            name=tutorial.name,
            speaker=inputs["speaker"],
            screen=inputs["screen"],
            plate=inputs.get("plate"),
            captions=inputs.get("captions"),
            output=target,
            settings=settings,
            record=record,
            sidecar=sidecar_path(target),
            progress_file=progress_path(target),
            sync_by_sound=by_sound,
        )
        reason = "--force" if force else why_render(target, record)
        if reason is None:
            entries.append(PlanEntry(tutorial.name, "skip", "up to date", target, inputs=inputs))
        else:
            entries.append(PlanEntry(tutorial.name, "render", reason, target, job=job, inputs=inputs))
    if problems:
        raise BatchConfigError(problems)
    return BatchPlan(
        folder=folder,
        output=output,
        entries=entries,
        incomplete=incomplete,
        unrecognised=pairing.unrecognised,
    )
