"""Presets: built-ins, lookup order, validation messages, saving, and the ``presets`` command."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from greenscreen.cli import main
from greenscreen.config import RenderSettings
from greenscreen.errors import OutputError, SettingsError
from greenscreen.presets import (
    PresetError,
    builtin_names,
    check_preset,
    dumps_preset,
    find_preset,
    list_presets,
    load_preset,
    preset_name,
    save_preset,
    user_preset_dir,
)

REQUIRED_BUILTINS = {
    "default",
    "bedsheet-warm-lamp",
    "dim-room",
    "studio-green",
    "blue-screen",
    "pip-bottom-right",
    "circle-bottom-left",
    "side-by-side",
}


@pytest.fixture(autouse=True)
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the user preset folder at a temporary folder (never the real ~/.config)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("APPDATA", str(tmp_path / "config"))
    folder = user_preset_dir()
    assert str(folder).startswith(str(tmp_path))
    return folder


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_builtins_cover_the_documented_situations() -> None:
    assert REQUIRED_BUILTINS <= builtin_names()


@pytest.mark.parametrize("name", sorted(REQUIRED_BUILTINS))
def test_every_builtin_loads_and_has_a_description(name: str) -> None:
    load_preset(name)
    info = {p.name: p for p in list_presets()}[name]
    assert info.source == "built-in" and info.description


def test_every_file_in_the_builtin_folder_is_valid() -> None:
    """Guards every shipped preset (also ones added later) against schema changes."""
    for info in list_presets():
        if info.source == "built-in":
            assert check_preset(info.path)[1] == [], info.path


def test_builtins_say_what_their_name_promises() -> None:
    assert load_preset("default") == RenderSettings()
    assert load_preset("blue-screen").key.screen == "blue"
    assert load_preset("circle-bottom-left").layout.layout == "circle"
    assert load_preset("circle-bottom-left").layout.corner == "bottom-left"
    assert load_preset("side-by-side").layout.layout == "side-by-side"
    # Layout presets leave the key alone, key presets leave the layout alone.
    assert load_preset("side-by-side").key == RenderSettings().key
    assert load_preset("dim-room").layout == RenderSettings().layout


def test_lookup_order_path_then_user_then_builtin(user_dir: Path, tmp_path: Path) -> None:
    assert find_preset("dim-room").parent != user_dir
    mine = write(user_dir / "dim-room.toml", '[key]\ntolerance = 0.42\n')
    assert find_preset("dim-room") == mine
    assert load_preset("dim-room").key.tolerance == 0.42
    elsewhere = write(tmp_path / "dim-room.toml", '[key]\ntolerance = 0.33\n')
    assert load_preset(str(elsewhere)).key.tolerance == 0.33
    listed = [p for p in list_presets() if p.name == "dim-room"]
    assert [(p.source, p.shadowed) for p in listed] == [("user", False), ("built-in", True)]


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(SettingsError, match="unknown preset 'nope'.*dim-room"):
        find_preset("nope")
    with pytest.raises(SettingsError, match="did you mean 'dim-room'"):
        find_preset("dim-rom")
    with pytest.raises(SettingsError, match="preset file not found"):
        find_preset("missing/file.toml")


def test_every_problem_is_reported_once_with_file_key_line_and_range(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.toml",
        "[key]\ntolerence = 0.2\nsoftness = 2\nrefine = 2.5\nscreen = 'red'\n[layuot]\nsize = 1\n",
    )
    with pytest.raises(PresetError) as info:
        load_preset(str(path))
    exc = info.value
    assert exc.path == path
    assert exc.problems == [
        "line 2: [key] unknown key 'tolerence' (did you mean 'tolerance'?)",
        "line 3: [key] 'softness' must be between 0.02 and 1, got 2.0",
        "line 4: [key] 'refine' must be int, got float 2.5 (allowed: 0 to 16)",
        "line 5: [key] 'screen' must be one of green, blue, got 'red'",
        "line 6: unknown section [layuot] (did you mean [layout]?); sections are "
        "[key], [layout], [timeline], [encode], [sound], [captions], [cards]",
    ]
    text = str(exc)
    assert text.startswith(f"{path}: 5 problems\n")
    assert text.count("\n") == 5


def test_a_setting_outside_any_section_says_where_it_belongs(tmp_path: Path) -> None:
    path = write(tmp_path / "flat.toml", "crf = 30\nbogus = 1\n")
    with pytest.raises(PresetError) as info:
        load_preset(str(path))
    sections = "[key], [layout], [timeline], [encode], [sound], [captions], [cards]"
    assert info.value.problems == [
        f"line 1: unknown key 'crf' (it belongs in [encode]); settings go in sections: {sections}",
        f"line 2: unknown key 'bogus'; settings go in sections: {sections}",
    ]


def test_one_problem_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path / "one.toml", "[layout]\nsize = 3.0\n")
    with pytest.raises(PresetError) as info:
        load_preset(str(path))
    assert str(info.value) == f"{path}: line 2: [layout] 'size' must be between 0.05 and 1, got 3.0"


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.toml", "[key]\ntolerance = = 0.2\n")
    with pytest.raises(PresetError) as info:
        load_preset(str(path))
    assert str(info.value).startswith(f"{path}: line 2: not valid TOML")


def test_save_writes_only_changed_values_and_reads_back(user_dir: Path) -> None:
    base = RenderSettings()
    settings = dataclasses.replace(
        base,
        key=dataclasses.replace(base.key, tolerance=0.23, key_color="#10ff20", learn_plate=False),
        layout=dataclasses.replace(base.layout, corner="top-left", size=0.4),
    )
    path = save_preset(settings, "my sheet", description='Kitchen "daylight"')
    assert path == user_dir / "my-sheet.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    assert data == {
        "description": 'Kitchen "daylight"',
        "key": {"key_color": "#10ff20", "tolerance": 0.23, "learn_plate": False},
        "layout": {"corner": "top-left", "size": 0.4},
    }
    assert load_preset("my-sheet") == settings
    # Saving again under the same user name replaces the file, leaving no temporary behind.
    assert save_preset(RenderSettings(), "my sheet") == path
    assert sorted(p.name for p in user_dir.iterdir()) == ["my-sheet.toml"]
    assert load_preset("my-sheet") == RenderSettings()


def test_preset_names_are_safe_file_names() -> None:
    assert preset_name("Küche abends") == "Küche-abends"
    assert preset_name("../etc/passwd") == "etc-passwd"
    assert preset_name("kitchen.toml") == "kitchen"
    assert preset_name(" / ") == "preset"


def test_save_cuts_an_over_long_name_and_names_an_unwritable_folder(user_dir: Path, tmp_path: Path) -> None:
    """A 300-character name failed with "File name too long", an unwritable folder with a raw
    PermissionError: both reached the user as "unexpected error"."""
    path = save_preset(RenderSettings(), "Küche " * 50)
    assert path.parent == user_dir and len(path.name.encode("utf-8")) <= 130
    assert path.name.startswith("Küche-Küche") and load_preset(path.stem) == RenderSettings()
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    with pytest.raises(OutputError, match="cannot create the preset folder"):
        save_preset(RenderSettings(), "x", folder=blocked / "presets")


def test_save_never_overwrites_a_builtin_name(user_dir: Path) -> None:
    builtin = find_preset("dim-room")
    before = builtin.read_text(encoding="utf-8")
    path = save_preset(RenderSettings(), "dim-room")
    assert path == user_dir / "dim-room-2.toml"
    assert builtin.read_text(encoding="utf-8") == before
    assert find_preset("dim-room") == builtin


def test_dump_with_everything_round_trips() -> None:
    data = tomllib.loads(dumps_preset(RenderSettings(), everything=True))
    assert set(data) == {"key", "layout", "timeline", "encode", "sound", "captions", "cards"}
    assert data["key"]["tolerance"] == RenderSettings().key.tolerance


# --- the command line ------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_cli_list_shows_builtins_and_user_presets(user_dir: Path) -> None:
    write(user_dir / "mine.toml", 'description = "My kitchen"\n')
    code, out, _ = run("presets", "list")
    assert code == 0
    for name in REQUIRED_BUILTINS:
        assert name in out
    assert "mine" in out and "My kitchen" in out and str(user_dir) in out


def test_cli_show(user_dir: Path) -> None:
    code, out, _ = run("presets", "show", "blue-screen")
    assert code == 0 and 'screen = "blue"' in out
    code, out, _ = run("presets", "show", "--all", "blue-screen")
    assert code == 0 and 'screen = "blue"' in out and "tolerance = " in out
    code, _, err = run("presets", "show", "nope")
    assert code == 2 and "unknown preset 'nope'" in err  # a settings error


def test_cli_validate_exit_codes_and_one_line_per_problem(tmp_path: Path) -> None:
    good = write(tmp_path / "good.toml", "[key]\ntolerance = 0.2\n")
    bad = write(tmp_path / "bad.toml", "[key]\ntolerance = 2\nsofness = 0.3\n")
    code, out, _ = run("presets", "validate", str(good), "studio-green")
    assert code == 0 and f"{good}: ok" in out
    code, out, err = run("presets", "validate", str(good), str(bad))
    assert code == 1
    assert f"{good}: ok" in out
    # The format the README shows, and the one render prints for the same file.
    assert err.splitlines() == [
        f"error: {bad}: 2 problems",
        "  line 2: [key] 'tolerance' must be between 0 and 1, got 2.0",
        "  line 3: [key] unknown key 'sofness' (did you mean 'softness'?)",
        "1 of 2 presets have problems",
    ]
    code, _, render_err = run("render", "no.mp4", "no2.mp4", "-o", str(tmp_path / "o.mp4"), "--preset", str(bad))
    assert code == 2 and render_err.splitlines() == err.splitlines()[:3]


def test_cli_validate_matches_the_readme() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    shown = readme[readme.index("    error: my.toml: 2 problems"):].splitlines()[:3]
    assert [line[4:] for line in shown] == [
        "error: my.toml: 2 problems",
        "  line 3: [key] 'tolerance' must be between 0 and 1, got 2.0",
        "  line 4: [key] unknown key 'sofness' (did you mean 'softness'?)",
    ]


def test_cli_validate_one_problem_and_odd_files(tmp_path: Path) -> None:
    one = write(tmp_path / "one.toml", "[key]\ntolerance = 2\n")
    code, out, err = run("presets", "validate", str(one))
    assert code == 1 and out == ""
    assert err.splitlines() == [f"error: {one}: line 2: [key] 'tolerance' must be between 0 and 1, got 2.0"]
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    code, _, err = run("presets", "validate", str(fifo), str(tmp_path / "missing.toml"), str(tmp_path))
    assert code == 1
    assert err.splitlines() == [
        f"error: {fifo}: is a named pipe (FIFO), not a regular file; expected a preset file",
        f"error: {tmp_path / 'missing.toml'}: preset file not found",
        f"error: {tmp_path}: is a folder, expected a preset file",
        "3 of 3 presets have problems",
    ]


def test_render_reports_a_bad_preset_before_touching_media(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.toml", "[key]\ntolerance = 2\n")
    code, _, err = run("render", "no.mp4", "no2.mp4", "-o", str(tmp_path / "o.mp4"), "--preset", str(bad))
    assert code == 2  # a settings error
    assert err.strip() == f"error: {bad}: line 2: [key] 'tolerance' must be between 0 and 1, got 2.0"


def test_builtins_load_from_a_source_checkout_that_is_not_installed(tmp_path: Path) -> None:
    # A copy of the checkout, imported without the site machinery: no editable-install finder
    # can supply ``greenscreen.builtin_presets``, as on a machine where nobody ran pip install.
    root = Path(__file__).resolve().parents[1]
    checkout = tmp_path / "checkout"
    shutil.copytree(root / "greenscreen", checkout / "greenscreen",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root / "presets", checkout / "presets")
    site_packages = [p for p in sys.path if p.endswith("site-packages")]
    code = (
        "import sys; sys.path[:0] = sys.argv[1:]\n"
        "from greenscreen.presets import builtin_names, load_preset\n"
        "print(' '.join(sorted(builtin_names())))\n"
        "print(load_preset('circle-bottom-left').layout.layout)\n"
    )
    proc = subprocess.run([sys.executable, "-S", "-c", code, str(checkout), *site_packages],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 0, proc.stderr
    names, layout = proc.stdout.splitlines()
    assert REQUIRED_BUILTINS <= set(names.split())
    assert layout == "circle"


def test_an_unreadable_preset_is_named_once_with_the_reason(
    user_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """'mine.toml: cannot read preset file ([Errno 13] Permission denied: 'mine.toml')': the
    path twice and a raw errno (tests run as root, so the refusal is simulated)."""
    path = save_preset(RenderSettings(), "mine")

    def refuse(self: Path, *args: object, **kwargs: object) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(SettingsError) as caught:
        load_preset("mine")
    message = str(caught.value)
    assert message == f"{path}: preset file: file is not readable (permission denied)", message


def test_a_saved_preset_with_any_character_reads_back(user_dir: Path) -> None:
    """A DEL (0x7f) in a text setting was written raw, and TOML refuses it: 'not valid TOML'."""
    from greenscreen.config import CardSettings

    settings = RenderSettings(cards=CardSettings(title="del\x7fx \t tab \u00e4 \"quoted\" \\ back"))
    save_preset(settings, "odd text")
    assert load_preset("odd-text").cards.title == settings.cards.title


@pytest.mark.skipif(sys.platform == "win32", reason="XDG folders are for Linux and macOS")
def test_a_relative_xdg_config_home_is_ignored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The XDG spec calls a relative XDG_CONFIG_HOME invalid: it made the presets depend on the
    folder greenscreen was started in."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")
    assert user_preset_dir() == tmp_path / ".config" / "greenscreen" / "presets"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert user_preset_dir() == tmp_path / "cfg" / "greenscreen" / "presets"


def test_an_unreadable_presets_folder_is_named_not_passed_over() -> None:
    """Listed as empty, the user's presets vanished and were "unknown" without a word (a locked
    profile, wrong permissions, a file where the folder should be)."""
    folder = user_preset_dir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("not a folder")
    code, out, err = run("presets", "list")
    assert code == 0 and "studio-green" in out  # the built-in ones are still listed
    assert "your presets folder cannot be read, so your presets are not listed: it is a file, not a folder" in err
    code, _, err = run("presets", "show", "mine")
    assert code == 2
    assert err.strip().startswith("error: unknown preset 'mine'")
    assert err.strip().endswith(f"your presets folder {folder} cannot be read: it is a file, not a folder")
