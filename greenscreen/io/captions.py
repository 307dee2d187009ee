"""Captions: read SubRip (.srt) and WebVTT (.vtt) files, and write them out as WebVTT (the
sidecar web players load) or as MP4 ``mov_text`` samples.

Only the text and times of a cue are kept; cue settings (``align:start`` after the times) are
dropped. Styling tags (``<i>``, ``<font color=...>``, ``<v Maria>``) and character references
(``&amp;``) stay in :attr:`Cue.text` for the WebVTT sidecar, which knows them; the picture and
the MP4 track, which do not, get :attr:`Cue.plain`. Times are checked line by line, and every
problem of a file is reported at once, with its line.
"""

from __future__ import annotations

import html
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from greenscreen.errors import MediaError, SettingsError
from greenscreen.io.files import check_input_file
from greenscreen.settings import check_fields, setting

CAPTION_SUFFIXES = (".srt", ".vtt")

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{2})[.,](\d{3})"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?$")
_TIMING_ATTEMPT = re.compile(r"^\s*\d+:\d+\S*\s*-+>")

#: ISO 639-1 -> 639-2/T, for the MP4 track's language tag (which needs three letters).
_LANGUAGES = {
    "de": "deu", "en": "eng", "fr": "fra", "it": "ita", "es": "spa", "pt": "por", "nl": "nld",
    "pl": "pol", "tr": "tur", "ru": "rus", "uk": "ukr", "ar": "ara", "cs": "ces", "da": "dan",
    "sv": "swe", "no": "nor", "fi": "fin", "el": "ell", "hu": "hun", "ro": "ron", "hr": "hrv",
}


@dataclass(frozen=True)
class CaptionSettings:
    """How captions given with ``--captions`` are shown besides the subtitle track and .vtt."""

    burn: bool = setting(
        False, help="Also draw the captions into the picture (open captions), for players that show no subtitles."
    )
    size: float = setting(0.05, min=0.02, max=0.12, help="Burned-in caption size as a share of the picture's height.")

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class Cue:
    """One caption: ``text`` (lines joined by newlines) shown from ``start`` to ``end`` seconds."""

    start: float
    end: float
    text: str

    @property
    def plain(self) -> str:
        """The text as it reads: tags and ruby annotations left out, ``&amp;`` and friends
        turned into their characters, an SRT's ``{\\an8}`` overrides dropped."""
        return plain_text(self.text)


#: What may be a styling tag of SRT (``<b> <i> <u> <s> <font ...>``, any case) or WebVTT
#: (``<c.yellow> <v Maria> <lang de> <ruby> <rt>``, timestamps ``<00:01.500>``), or an SRT's ASS
#: override (``{\an8}``). A tutorial also writes keys and menus in angle brackets (``<Strg>+<c>``,
#: ``<Datei>``), so a bare ``<b>`` or ``</b>`` is markup only with its partner in the cue (see
#: :func:`_markup`).
_CANDIDATE = re.compile(
    r"<(/?)(b|i|u|s|font|c|v|lang|ruby|rt)((?:[.\s][^<>\n]*)?)>|<\d[\d:.]*>|\{\\[^{}\n]*\}", re.IGNORECASE)
#: The names only SRT uses in any case; WebVTT's are lower case.
_ANY_CASE = ("b", "i", "u", "s", "font")
#: Tags WebVTT knows (SRT's ``<font>`` and ``<s>`` are left out of the sidecar).
_VTT_NAMES = ("b", "i", "u", "c", "v", "lang", "ruby", "rt")


def _markup(text: str) -> list[tuple[int, int, str | None]]:
    """``(start, end, webvtt)`` of each piece of markup in a cue's ``text``; ``webvtt`` is what
    the sidecar keeps of it (an SRT's ``<I>`` as WebVTT's ``<i>``), or None. A tag with a class
    or an annotation (``<c.yellow>``, ``<v Maria>``, ``<font color=red>``) is markup; a bare one
    only with its partner (``<i>`` before an ``</i>``), so ``<Strg>+<c>`` stays text."""
    found = []
    for m in _CANDIDATE.finditer(text):
        closing, name, rest = m.groups()
        if name is None:  # a timestamp or an ASS override
            found.append((m.start(), m.end(), m.group() if m.group().startswith("<") else None))
            continue
        lower = name.lower()
        if name != lower and lower not in _ANY_CASE:
            continue
        if rest.strip(". ") and not closing:
            tagged = True
        elif closing:
            tagged = re.search(rf"<{name}(?:[.\s][^<>\n]*)?>", text[: m.start()]) is not None
        else:
            tagged = f"</{name}>" in text[m.end() :]
        if tagged:
            found.append((m.start(), m.end(), f"<{closing}{lower}{rest}>" if lower in _VTT_NAMES else None))
    return found


def plain_text(text: str) -> str:
    """``text`` of a cue without its markup (see :attr:`Cue.plain`)."""
    parts, at, ruby_text = [], 0, False
    for start, end, _ in _markup(text):
        if not ruby_text:
            parts.append(text[at:start])
        # A ruby annotation (the reading above a character) is not part of the line's text.
        tag = text[start:end].lower()
        ruby_text = tag == "<rt>" or (ruby_text and tag != "</rt>")
        at = end
    parts.append(text[at:])
    return html.unescape("".join(parts)).replace("\xa0", " ")


def _vtt_text(text: str) -> str:
    """``text`` of a cue for a WebVTT file: the markup WebVTT knows kept, the rest dropped, and
    the characters that would read as markup (``&``, ``<``, ``>``) escaped."""
    parts, at = [], 0
    for start, end, webvtt in _markup(text):
        parts.append(html.escape(html.unescape(text[at:start]), quote=False))
        if webvtt:
            parts.append(webvtt)
        at = end
    parts.append(html.escape(html.unescape(text[at:]), quote=False))
    return "".join(parts)


def _seconds(groups: tuple[str | None, ...]) -> float:
    hours, minutes, seconds, millis = groups
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + int(seconds or 0) + int(millis or 0) / 1000


def _decoded(data: bytes, path: Path, warnings: list[str] | None) -> str:
    """The text of a captions file (see :func:`read_captions` for the encodings taken)."""
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        if data.count(0) > len(data) // 4:  # UTF-16 without a byte order mark: every other byte 0
            return data.decode("utf-16-le" if data[1::2].count(0) > data[0::2].count(0) else "utf-16-be")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    # German, French or Spanish in Windows-1252 has an accented letter here and there ("Grüße");
    # another code page's text (Cyrillic, Greek) read as 1252 is whole words of accented
    # gibberish ("Äîáðèé"), which is refused rather than shown.
    accented = sum(1 for c in text if ord(c) > 127 and c.isalpha())
    in_runs = sum(len(run) for run in re.findall(r"[^\x00-\x7f]{3,}", text) if run.isalpha())
    if "\ufffd" in text or in_runs > 0.2 * accented:
        raise MediaError("captions are not UTF-8 text (save the file as UTF-8)", path)
    if warnings is not None:
        warnings.append(f"{path.name} is not UTF-8; read as Windows-1252 (check its umlauts, or save it as UTF-8)")
    return text


def read_captions(path: str | Path, warnings: list[str] | None = None) -> list[Cue]:
    """The cues of an .srt or .vtt file, in file order.

    The file is UTF-8 (with or without a byte order mark) or UTF-16; a file that is neither but
    reads as Western text in Windows-1252 (what Notepad on a German Windows saves as "ANSI") is
    read so, and ``warnings`` gets a line saying so. Raises :class:`MediaError` if the file cannot be read or
    holds no cue, naming every malformed line (times that cannot be read, a cue that ends
    before it starts) at once.
    """
    path = Path(path)
    if path.suffix.lower() not in CAPTION_SUFFIXES:
        raise SettingsError(f"captions must be a .srt or .vtt file, got '{path.suffix or path.name}'", path)
    check_input_file(path, what="captions file")  # a named pipe would hang the read
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MediaError(f"cannot be read ({exc.strerror})", path) from None
    text = _decoded(data, path, warnings)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    vtt = path.suffix.lower() == ".vtt"
    problems: list[str] = []
    if vtt and not lines[0].startswith("WEBVTT"):
        problems.append("line 1: a WebVTT file starts with 'WEBVTT'")
    cues: list[Cue] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if vtt and re.match(r"^(NOTE|STYLE|REGION)\b", line):
            while i < len(lines) and lines[i].strip():
                i += 1
            continue
        # A timing line, or what was meant as one ("00:01,000 -> 00:02,000" is a typo to report).
        if "-->" not in line and not _TIMING_ATTEMPT.match(line):
            i += 1
            continue
        match = _TIMING.match(line)
        number = i + 1
        i += 1
        body = []
        while i < len(lines) and lines[i].strip():
            body.append(lines[i].rstrip())
            i += 1
        if match is None:
            problems.append(f"line {number}: cannot read the times '{line.strip()}' (expected 00:01:02,500 --> 00:01:04,000)")
            continue
        start, end = _seconds(match.groups()[:4]), _seconds(match.groups()[4:])
        if end <= start:
            problems.append(f"line {number}: the cue ends ({end:.3f} s) before it starts ({start:.3f} s)")
            continue
        if body:
            cues.append(Cue(start, end, "\n".join(body)))
    if not cues and not problems:
        problems.append("holds no captions")
    cues = list(dict.fromkeys(cues))  # a cue pasted twice is one cue (in the track, picture and .vtt)
    if problems:
        raise MediaError(
            problems[0] if len(problems) == 1 else f"{len(problems)} problems: " + "; ".join(problems), path
        )
    return cues


def caption_language(path: str | Path, language: str | None = None) -> str:
    """The ISO 639-2 tag for the captions: ``language`` if given (two or three letters), else
    the one the file name carries (``talk.de.srt``), else ``und`` (undetermined)."""
    if not language:
        parts = Path(path).name.lower().split(".")
        language = parts[-2] if len(parts) >= 3 and len(parts[-2]) in (2, 3) and parts[-2].isalpha() else "und"
    language = language.lower()
    if len(language) == 2 and language in _LANGUAGES:
        return _LANGUAGES[language]
    if len(language) == 3 and language.isalpha():
        return language
    raise SettingsError(f"caption language must be a two- or three-letter code such as de or deu, got '{language}'")


def _stamp(seconds: float) -> str:
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def webvtt(cues: list[Cue]) -> str:
    """The cues as a WebVTT file."""
    parts = ["WEBVTT", ""]
    for cue in cues:
        # "-->" would end a cue's text early in a reader; a blank line would end the cue.
        text = "\n".join(line for line in _vtt_text(cue.text).replace("-->", "->").split("\n") if line.strip())
        parts += [f"{_stamp(cue.start)} --> {_stamp(cue.end)}", text, ""]
    return "\n".join(parts)


def one_at_a_time(cues: list[Cue]) -> list[Cue]:
    """``cues`` as a sequence that never overlaps, in :attr:`Cue.plain` text, on whole
    milliseconds (the MP4 track's clock): where cues overlap (two speakers at once; speech-to-text
    tools run each cue a little into the next), the overlap shows both texts, each in its own lines.

    An MP4 subtitle track holds one sample after another: muxed as they were, every overlap
    pushed all later cues back by its length (minutes, over a long tutorial).
    """
    items = sorted((round(c.start, 3), round(c.end, 3), c.plain) for c in cues)
    cuts = sorted({t for start, end, _ in items for t in (start, end)})
    out: list[Cue] = []
    active: list[tuple[float, float, str]] = []
    k = 0
    for start, end in zip(cuts, cuts[1:]):  # a sweep: each cue enters and leaves once
        while k < len(items) and items[k][0] <= start:
            active.append(items[k])
            k += 1
        active = [item for item in active if item[1] > start]
        text = "\n".join(dict.fromkeys(t for _, _, t in active if t.strip()))
        if not text:
            continue
        if out and out[-1].text == text and out[-1].end == start:
            out[-1] = Cue(out[-1].start, end, text)
        else:
            out.append(Cue(start, end, text))
    return out


def mov_text_sample(text: str) -> bytes:
    """One ``mov_text`` (3GPP timed text) sample: the UTF-8 text behind its 16-bit length."""
    data = text.encode("utf-8")[:65535]
    return struct.pack(">H", len(data)) + data
