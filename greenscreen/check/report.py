"""What a check found: one finding per topic with its verdict, figures and advice, in two languages."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Literal

from greenscreen.check.messages import MESSAGES, in_language

Verdict = Literal["good", "usable", "poor"]
VERDICTS: tuple[Verdict, ...] = ("good", "usable", "poor")
LANGUAGES = tuple(MESSAGES)


def grade(value: float, usable: float, poor: float) -> Verdict:
    """"good" below ``usable``, "usable" below ``poor``, else "poor" (larger is worse)."""
    if value >= poor:
        return "poor"
    return "usable" if value >= usable else "good"


def worst(verdicts: list[Verdict]) -> Verdict:
    """The worst of ``verdicts`` ("good" for none)."""
    return max(verdicts, key=VERDICTS.index, default="good")


def language_from_locale() -> str:
    """"de" if the user's locale is German, else "en" (LC_ALL > LC_MESSAGES > LANG, as gettext)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(name, "")
        if value:
            return "de" if value.lower().startswith("de") else "en"
    return "en"


def _number(value: Any, lang: str) -> Any:
    """A float as people write it: no trailing ".0", a decimal comma in German."""
    if not isinstance(value, float):
        return value
    text = f"{value:g}"
    return text.replace(".", ",") if lang == "de" else text


@dataclass
class Finding:
    """The result of one topic (sheet evenness, spill, sound level ...).

    ``message`` and ``advice`` are keys into :data:`~greenscreen.check.messages.MESSAGES`,
    filled in with ``params``; ``figures`` are the measured numbers behind the verdict.
    """

    topic: str
    verdict: Verdict
    message: str
    advice: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    figures: dict[str, float] = field(default_factory=dict)
    recording: str = "speaker"
    """Which recording it is about: "speaker" or "screen"."""

    def text(self, lang: str = "en") -> tuple[str, str]:
        """The finding and its advice ("" if none) as sentences in ``lang``."""
        table, words = in_language(lang)
        params = {k: words.get(v, v) if isinstance(v, str) else _number(v, lang) for k, v in self.params.items()}
        # Words in their other grammatical forms ("links" beside "linke", "Grün" beside "grünes").
        for k, v in self.params.items():
            for form in ("adv", "noun"):
                if isinstance(v, str) and f"{v}_{form}" in words:
                    params[f"{k}_{form}"] = words[f"{v}_{form}"]
        message = table[self.message].format(**params)
        advice = table[self.advice].format(**params) if self.advice else ""
        return message, advice


@dataclass
class CheckReport:
    """Everything ``greenscreen check`` found about one recording (and its screen recording)."""

    speaker: str
    screen: str | None
    findings: list[Finding]
    seconds: float = 0.0
    """Wall time the check took."""
    samples: int = 0
    """How many moments of the speaker recording were looked at."""
    crop: tuple[int, int, int, int] | None = None
    """Suggested ``--crop`` (left, top, right, bottom) if the sheet does not fill the frame."""
    images: dict[str, Any] = field(default_factory=dict, repr=False)
    """Pictures for the report sheet (frame, matte, heat map, spill map, sound level)."""

    @property
    def verdict(self) -> Verdict:
        """The overall verdict: the worst of the topics'."""
        return worst([f.verdict for f in self.findings])

    def finding(self, topic: str) -> Finding | None:
        """The finding of ``topic`` (None if it was not checked)."""
        return next((f for f in self.findings if f.topic == topic), None)

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        """Plain data for ``--json`` and batch's report.json."""
        topics = []
        for f in self.findings:
            message, advice = f.text(lang)
            topics.append({
                "topic": f.topic, "recording": f.recording, "verdict": f.verdict,
                "message": message, "advice": advice,
                "figures": {k: round(float(v), 4) for k, v in f.figures.items()},
            })
        return {
            "speaker": self.speaker,
            "screen": self.screen,
            "verdict": self.verdict,
            "crop": ",".join(map(str, self.crop)) if self.crop else None,
            "samples": self.samples,
            "seconds": round(self.seconds, 2),
            "topics": topics,
        }

    def to_text(self, lang: str = "en") -> str:
        """The terminal report: one line per topic, advice indented below, overall verdict last."""
        table = in_language(lang)[0]
        label = {v: table[f"verdict_{v}"] for v in VERDICTS}
        width = max(len(s) for s in label.values())
        lines = [table["header"].format(name=self.speaker)]
        for f in self.findings:
            message, advice = f.text(lang)
            topic = table[f"topic_{f.topic}"]
            if f.recording == "screen" and f.topic != "screen_format":
                topic += f" ({table['topic_screen_format']})"
            lines.append(f"  {label[f.verdict]:<{width}}  {topic}: {message}")
            if advice and f.verdict != "good":
                lines.append(f"  {'':<{width}}    -> {advice}")
        lines.append(table["overall"].format(verdict=label[self.verdict]))
        return "\n".join(lines)
