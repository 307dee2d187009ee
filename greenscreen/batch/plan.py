"""Work out what a batch will do before it does anything: settings, validation and fingerprints.

Each tutorial's edit and settings come from up to three sources, lowest priority first:

1. the top of ``batch.toml`` (for every tutorial);
2. the tutorial's ``[tutorials.NAME]`` table in ``batch.toml``;
3. its edit file beside the recordings (``NAME.toml`` or ``NAME/edit.toml``).

Each source holds an edit (:func:`greenscreen.edit.edit_from_table`: the same schema and code as
``render --edit``) plus the batch's own keys (``preset``, ``trim`` and shortcuts such as
``offset``). Settings are layered by :func:`greenscreen.presets.layered_settings`: presets (the
tutorial's own ``preset`` if a source names any, else ``--preset``, else the ``preset`` at the
top of ``batch.toml``) < source 1 < 2 < 3. Of the edit's lists (cuts, chapters, ...) and files
(logo, captions) each kind comes whole from the highest source that has it.

Every problem in every source is collected into one :class:`BatchConfigError` before any
rendering starts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from greenscreen import __version__
from greenscreen.batch.pairing import ROLES, Pairing, Tutorial, Unrecognised, find_tutorials, tutorial_name
from greenscreen.config import RenderSettings
from greenscreen.edit import FILES, Edit, EditError, edit_from_table
from greenscreen.errors import GreenscreenError, SettingsError
from greenscreen.io.atomic import side_file
from greenscreen.io.files import os_reason, same_file
from greenscreen.presets import (
    CardError,
    PresetError,
    SettingsLayer,
    apply_settings_tables,
    key_lines,
    layered_settings,
    load_preset,
    read_settings_file,
)
from greenscreen.settings import did_you_mean, parse_clock
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

BATCH_KEYS = ("preset", "trim", *SHORTHANDS)
"""Keys a batch source holds beside the edit: ``preset = "name"`` or ``["a", "b"]``;
``trim = [start, end]``; the shortcuts. ``layout = "pip"`` (a string, not a ``[layout]``
table) is one too."""

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
    """What one source (``batch.toml``'s top, a ``[tutorials.NAME]`` table, an edit file) gives,
    already checked."""

    presets: tuple[str, ...] = ()
    edit: Edit = field(default_factory=Edit)
    layer: SettingsLayer = field(default_factory=lambda: SettingsLayer({}, ""))
    """Its settings tables (the edit's sections and the shortcuts) over the presets."""
    source: str = ""
    prefix: str = ""
    """``"[tutorials.NAME] "`` for a table of ``batch.toml``, to name it in messages."""


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
    """The edit's ``captions_file``, else captions picked up beside the recordings (``NAME.srt``,
    ``NAME/captions.vtt``)."""
    check: bool = False
    """Check the recordings (``greenscreen check``) before rendering (``batch --check``)."""
    edit: Edit = field(default_factory=Edit)
    """The tutorial's edit: cuts, chapters, redactions, lower thirds, logo, caption language."""


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


def stop_path(output: Path) -> Path:
    """The mark by which a stopped batch asks the render of ``output`` to stop, where it cannot
    send a signal (a worker on another machine of a Dask cluster)."""
    return side_file(output, ".stop")


# ---------------------------------------------------------------------------------------------
# Settings files
# ---------------------------------------------------------------------------------------------


def read_source(path: Path, problems: list[Problem], *, what: str) -> tuple[str, dict[str, Any]] | None:
    """Text and parsed TOML of a settings file, through the one TOML reader; None after adding
    its problem (cannot be read, not valid TOML) to ``problems``."""
    try:
        return read_settings_file(path, what=what)
    except PresetError as exc:
        problems.extend(Problem(exc.path, "", p) for p in exc.problems)
    except SettingsError as exc:
        problems.append(Problem(exc.path, "", exc.message))
    return None


def preset_problems(name: str, file: Path | None, where: str) -> list[Problem]:
    """Why preset ``name`` cannot be used (an empty list if it can); ``where`` starts the
    message of a preset that is not found (e.g. ``"line 3: "`` or ``"--preset: "``)."""
    try:
        load_preset(name)
    except PresetError as exc:  # the preset exists but holds mistakes: report them in its file
        return [Problem(exc.path, "", p) for p in exc.problems]
    except GreenscreenError as exc:  # unknown name, missing file
        return [Problem(file, "", f"{where}{exc}")]
    return []


def table_name(within: tuple[str, ...]) -> str:
    """``("tutorials", "2024.intro")`` -> ``[tutorials."2024.intro"]``, as written in the file."""
    parts = (p if re.fullmatch(r"[A-Za-z0-9_-]+", p) else json.dumps(p, ensure_ascii=False) for p in within)
    return f"[{'.'.join(parts)}]"


def _in_table(problem: str, prefix: str) -> str:
    """Name the table right after the line number: ``line 5: [tutorials.intro] ...``."""
    line = re.match(r"line \d+: ", problem)
    cut = line.end() if line else 0
    return f"{problem[:cut]}{prefix}{problem[cut:]}"


def parse_tutorial_table(
    data: dict[str, Any], *, file: Path, text: str, within: tuple[str, ...] = (), problems: list[Problem]
) -> TutorialSettings:
    """Check one source of a tutorial's edit (or the folder-wide one); append every mistake, with
    its line, to ``problems``.

    ``data`` is the table at ``within`` of ``file`` (the whole file if empty), whose ``text``
    gives the lines. Files the edit names are relative to ``file``'s folder.
    """
    prefix = f"{table_name(within)} " if within else ""
    lines = key_lines(text, within)

    def at(key: str) -> str:
        line = lines.get((None, key))
        return f"line {line}: " if line else ""

    def report(key: str, reason: str) -> None:
        problems.append(Problem(file, "", f"{at(key)}{prefix}{reason}"))

    edit_data = {
        k: v for k, v in data.items() if k not in BATCH_KEYS and not (k == "layout" and not isinstance(v, dict))
    }
    try:
        edit = edit_from_table(edit_data, path=file, text=text, within=within, other_keys=BATCH_KEYS)
    except EditError as exc:
        problems.extend(Problem(file, "", _in_table(p, prefix)) for p in exc.problems)
        edit = Edit(path=file)
    base = edit.layer()
    tables = {group: dict(values) for group, values in base.tables.items()}
    layer_lines = dict(base.lines)
    out = TutorialSettings(edit=edit, source=f"{file}{' ' + prefix.strip() if prefix else ''}", prefix=prefix)

    def put(group: str, key: str, value: Any, shown: str) -> None:
        # Checked alone, so the message names the shortcut's own line.
        _, found = apply_settings_tables(RenderSettings(), {group: {key: value}}, {})
        if found:
            report(shown, f"'{shown}': {found[0]}")
            return
        tables.setdefault(group, {})[key] = value
        if (None, shown) in lines:
            layer_lines[(group, key)] = lines[(None, shown)]

    for key, value in data.items():
        if key == "preset":
            names = [value] if isinstance(value, str) else value
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
                report(key, f"'preset' must be a preset name or a list of names, got {value!r}")
                continue
            found = [preset_problems(n, file, f"{at(key)}{prefix}") for n in names]
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
                report(key, f"'trim' must be [start, end] in seconds or as 1:20.5, got {value!r}")
                continue
            # Strings such as "1:20" are read by the settings schema (start and end are clock times).
            put("timeline", "start", value[0] if isinstance(value[0], str) else float(value[0]), "trim")
            put("timeline", "end", value[1] if isinstance(value[1], str) else float(value[1]), "trim")
        elif key == "layout" and not isinstance(value, dict):
            put("layout", "layout", value, key)
        elif key in SHORTHANDS:
            group, name = SHORTHANDS[key]
            put(group, name, value, key)
    out.layer = SettingsLayer(tables, out.source, layer_lines)
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
    read = read_source(path, problems, what="batch file")
    if read is None:
        return empty
    text, data = read
    tables = data.pop("tutorials", {})
    folder_wide = parse_tutorial_table(data, file=path, text=text, problems=problems)
    tutorials: dict[str, TutorialSettings] = {}
    if not isinstance(tables, dict):
        line = key_lines(text).get((None, "tutorials"))
        problems.append(Problem(path, "", f"{f'line {line}: ' if line else ''}'tutorials' must be tables: [tutorials.NAME]"))
        tables = {}
    headers = key_lines(text, ("tutorials",))
    for typed, table in tables.items():
        name = tutorial_name(typed)  # typed in one Unicode form, the files named in another
        within = ("tutorials", typed)
        line = headers.get((None, typed))
        where = f"{f'line {line}: ' if line else ''}{table_name(within)}"
        if name not in names:
            problems.append(Problem(path, "", f"{where} no tutorial named '{name}' in the folder{did_you_mean(name, names)}"))
            continue
        if not isinstance(table, dict):
            problems.append(Problem(path, "", f"{where} must be a table of settings"))
            continue
        if name in tutorials:
            problems.append(Problem(path, "", f"{where} a second table for '{name}' (the name typed in "
                                              "another Unicode form); keep one"))
            continue
        tutorials[name] = parse_tutorial_table(table, file=path, text=text, within=within, problems=problems)
    return BatchFile(folder_wide, tutorials)


def read_edit_source(tutorial: Tutorial, problems: list[Problem]) -> TutorialSettings | None:
    """The tutorial's edit file beside its recordings, checked (None if it has none)."""
    if len(tutorial.edit_files) > 1:
        first, *others = tutorial.edit_files
        for other in others:
            problems.append(Problem(other, "", f"a second edit file beside {first.name}; keep one"))
        return None
    if not tutorial.edit_files:
        return None
    read = read_source(tutorial.edit_files[0], problems, what="edit file")
    if read is None:
        return None
    text, data = read
    return parse_tutorial_table(data, file=tutorial.edit_files[0], text=text, problems=problems)


def _file_and_line(problem: Problem) -> tuple[str, int]:
    line = re.match(r"line (\d+): ", problem.reason)
    return str(problem.file or ""), int(line[1]) if line else 0


def combine_edits(edits: list[Edit]) -> Edit:
    """One tutorial's edit from its sources, lowest priority first: each list (cuts, chapters,
    ...) and each file or value (logo, captions) comes whole from the highest source that has it.

    Lists are not added up: a tutorial table and an edit file that both list cuts are more
    likely an edit moved (or copied) than two halves of one.
    """
    out = Edit()
    for edit in edits:
        for f in dataclasses.fields(Edit):
            if f.name in ("path", "settings") or f.name.startswith("_"):
                continue  # the settings are layered by layered_settings
            value = getattr(edit, f.name)
            if value is not None and value != [] and value != ():
                setattr(out, f.name, list(value) if isinstance(value, list) else value)
    return out


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
    try:
        settings = layered_settings(presets, [layer.layer for layer in layers])
    except CardError as exc:  # only the layers together show it
        asked = next(layer for layer in layers if layer.layer is exc.layer)
        where = f"{f'line {exc.line}: ' if exc.line else ''}{asked.prefix}[cards] "
        found = [Problem(asked.edit.path, "", where + reason) for reason in exc.reasons]
        # A folder-wide layer's problem is every tutorial's: listed once.
        problems += [p for p in found if p not in problems]
        return None
    except GreenscreenError:
        return None  # every layer and preset was checked on its own and its problems reported
    tl = settings.timeline
    if tl.end and tl.end <= tl.start:
        # Named where the later of the two was set (the highest source giving start or end).
        file, where = None, f"tutorial '{name}': "
        for layer in reversed(layers):
            keys = [k for k in ("end", "start") if k in layer.layer.tables.get("timeline", {})]
            if keys:
                line = layer.layer.lines.get(("timeline", keys[0]))
                file = layer.edit.path
                where = f"{f'line {line}: ' if line else ''}{layer.prefix}"
                break
        problems.append(Problem(file, "", f"{where}trim end {tl.end:g} s is not after start {tl.start:g} s"))
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


def edit_identity(edit: Edit) -> dict[str, Any]:
    """What of an edit decides the picture and sound, for the fingerprint (empty for no edit).

    The files it names (logo, captions) are inputs of their own, identified by content like
    the recordings; here only their choice of language and the lists count.
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(Edit):
        if f.name in ("path", "settings", *FILES.values()) or f.name.startswith("_"):
            continue
        value = getattr(edit, f.name)
        if value is not None and value != []:
            out[f.name] = [_identity(v) for v in value] if isinstance(value, list) else value
    return out


def _identity(item: Any) -> Any:
    """An edit's list entry as plain data, without where it was written (a segment's ``where``
    names the file and line: moving it in the file changes nothing rendered)."""
    if not dataclasses.is_dataclass(item):
        return item
    data = dataclasses.asdict(item)  # type: ignore[arg-type]
    data.pop("where", None)
    return data


def make_record(
    inputs: dict[str, Path], root: Path, settings: RenderSettings, *, sync_by_sound: bool = False,
    edit: Edit | None = None,
) -> dict[str, Any]:
    """The fingerprint record of a render: inputs, effective settings, the edit and greenscreen version.

    With ``sync_by_sound`` the offset is found from the recordings when rendering; the found
    offset and drift are added to the record then (key ``sync``). They follow from the
    recordings, which the fingerprint covers, so the mode is part of the fingerprint, not them.
    ``edit`` counts only when it holds something, so a tutorial without one keeps the
    fingerprint it had before edits existed.
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
    parts = {"inputs": record["inputs_sha256"], "settings": record["settings_sha256"]}
    cut = edit_identity(edit) if edit is not None else {}
    if cut:
        record["edit"] = cut
        record["edit_sha256"] = parts["edit"] = _digest(cut)
    record["fingerprint"] = _digest(parts)
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
    if stored.get("edit_sha256") != record.get("edit_sha256"):
        reasons.append("edit changed")
    if stored.get("inputs_sha256") != record["inputs_sha256"]:
        old = stored.get("inputs") or {}
        changed = [role for role in sorted({*record["inputs"], *old}) if old.get(role) != record["inputs"].get(role)]
        recordings = [role for role in changed if role in ROLES]
        if recordings or not changed:
            reasons.append(f"recording changed ({', '.join(recordings) or 'inputs'})")
        reasons += [f"{role} changed" for role in changed if role not in ROLES]
    return "; ".join(reasons) or "fingerprint changed"


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------


REPORT_NAME = "report.json"
"""The batch's report in the output folder; it names the recordings folder it was made from."""


def _check_same_recordings(folder: Path, output: Path) -> None:
    """Raise if ``output`` holds the tutorials of another recordings folder that still exists.

    Two recordings folders batched into one output folder (two departments' cron jobs) replaced
    each other's tutorials on every run: the fingerprints name the recordings relative to their
    folder, so the other folder's ``intro`` looked like this one's, changed. A folder that has
    moved (the old one is gone) takes its outputs along.
    """
    try:
        earlier = json.loads((output / REPORT_NAME).read_text(encoding="utf-8")).get("folder")
    except (OSError, ValueError, AttributeError):
        return
    if not isinstance(earlier, str) or same_file(earlier, folder) or not Path(earlier).is_dir():
        return
    raise GreenscreenError(
        f"holds the tutorials of another recordings folder, {earlier} (see its {REPORT_NAME}); give each "
        f"recordings folder an output folder of its own, or delete {REPORT_NAME} there if those "
        "tutorials should be replaced",
        output,
    )


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
    # Compared as the file system sees them: rec/../rec, a link to rec, or Rec on a disk that
    # ignores letter case is still rec.
    if same_file(output, folder):
        raise GreenscreenError("write the outputs to a separate folder, not into the recordings folder", output)
    if output.exists() and not output.is_dir():
        raise GreenscreenError("output must be a folder", output)
    _check_same_recordings(folder, output)
    problems: list[Problem] = []
    cli_presets = (preset,) if isinstance(preset, str) else tuple(preset or ())
    for name in cli_presets:
        problems += preset_problems(name, None, "--preset: ")

    try:
        pairing: Pairing = find_tutorials(folder, exclude=(output,))
    except OSError as exc:  # e.g. a sub-folder without read permission, a share gone away
        raise GreenscreenError(f"cannot list the recordings ({exc.strerror})", exc.filename or folder) from None
    names = [t.name for t in pairing.tutorials]
    batch = parse_batch_file(pairing.batch_file, names, problems)

    entries: list[PlanEntry] = []
    incomplete: list[Tutorial] = []
    named: set[Path] = set()
    """Files an edit names (a logo beside the recordings): used, so not unrecognised."""
    folded: dict[str, list[str]] = {}
    for t in pairing.tutorials:
        folded.setdefault(t.name.casefold(), []).append(t.name)
    for tutorial in pairing.tutorials:
        target = output / f"{tutorial.name}.mp4"
        layers = [batch.folder_wide]
        if tutorial.name in batch.tutorials:
            layers.append(batch.tutorials[tutorial.name])
        own = read_edit_source(tutorial, problems)
        if own is not None:
            layers.append(own)
        named |= {p for layer in layers for role in FILES.values() if (p := getattr(layer.edit, role))}
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
        edit = combine_edits([layer.edit for layer in layers])
        inputs = {role: p for role in ("speaker", "screen", "plate", "captions") if (p := tutorial.get(role))}
        # The edit's captions_file is asked for by name: it wins over NAME.srt picked up by its name.
        inputs |= {role: p for role in FILES.values() if (p := getattr(edit, role)) is not None}
        background = settings.layout.background
        if background and not background.startswith("#") and background != "screen" and Path(background).is_file():
            # (A missing one fails the tutorial with the render's own message.)
            inputs["background"] = Path(background)  # the full layout's picture: its content counts
            named.add(Path(background))
        empty = next((p for p in inputs.values() if _is_empty(p)), None)
        if empty is not None:
            # Known now (an upload that broke off, a recorder that crashed): the dry run says
            # so, rather than "would render" a tutorial the run then fails.
            entries.append(PlanEntry(tutorial.name, "fail", f"{empty.name}: file is empty (0 bytes)", target,
                                     inputs=inputs))
            continue
        given = any(k in layer.layer.tables.get("timeline", {}) for layer in layers for k in ("offset", "drift"))
        by_sound = sync_wanted(settings, given=given)
        try:
            record = make_record(inputs, folder, settings, sync_by_sound=by_sound, edit=edit)
        except OSError as exc:
            entries.append(PlanEntry(tutorial.name, "fail", f"recording {exc.filename}: {os_reason(exc)}", target,
                                     inputs=inputs))
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
            edit=edit,
        )
        reason = "--force" if force else why_render(target, record)
        if reason is None:
            entries.append(PlanEntry(tutorial.name, "skip", "up to date", target, inputs=inputs))
        else:
            entries.append(PlanEntry(tutorial.name, "render", reason, target, job=job, inputs=inputs))
    if problems:
        raise BatchConfigError(sorted(problems, key=_file_and_line))
    return BatchPlan(
        folder=folder,
        output=output,
        entries=entries,
        incomplete=incomplete,
        unrecognised=[u for u in pairing.unrecognised if u.path not in named],
    )


def _is_empty(path: Path) -> bool:
    """True for a file of 0 bytes; False for anything else (a missing or unreadable file is
    the render's to name)."""
    try:
        return path.stat().st_size == 0
    except OSError:
        return False
