"""Fonts and text for the PDF report: the embedded fonts, making user text printable, wrapping.

The report embeds DejaVu Sans (regular, bold, oblique) and DejaVu Sans Mono, taken from the
TrueType files that matplotlib ships in ``mpl-data/fonts/ttf`` (a pinned dependency; nothing
is downloaded at run time, and matplotlib itself is never imported). DejaVu Sans covers Latin,
Greek, Cyrillic, Armenian, Georgian, Hebrew and Arabic letters, IPA, arrows, mathematical
operators, box drawing and dingbats (✓ ✗ → ≤ ≥ µ °), with a true bold, which the variable-only
Noto Sans package lacks. A character the font has no glyph for (CJK ideographs, emoji) is printed
as U+FFFD (�) so the gap is visible and text extraction stays clean; the CSV and XLSX exports
carry the original text.

Item text is user input. Table cells are drawn as plain strings (never parsed as markup), and
every text that goes into a ``Paragraph`` goes through ``markup_escape``.
"""

import re
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "QiSans"
FONT_BOLD = "QiSans-Bold"
FONT_ITALIC = "QiSans-Oblique"
FONT_BOLD_ITALIC = "QiSans-BoldOblique"
FONT_MONO = "QiMono"

FONT_FILES = {
    FONT: "DejaVuSans.ttf",
    FONT_BOLD: "DejaVuSans-Bold.ttf",
    FONT_ITALIC: "DejaVuSans-Oblique.ttf",
    FONT_BOLD_ITALIC: "DejaVuSans-BoldOblique.ttf",
    FONT_MONO: "DejaVuSansMono.ttf",
}

# C0 and C1 control characters except tab and line feed, and the lone surrogates: never printable.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_LINE_BREAKS = re.compile(r"\r\n|\r|\u2028|\u2029|\x0b|\x0c|\x85")
REPLACEMENT = "\ufffd"


class FontsMissing(RuntimeError):
    """The font files are not installed (matplotlib is a pinned requirement)."""


def font_directory() -> Path:
    spec = find_spec("matplotlib")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise FontsMissing("the report fonts come from matplotlib's mpl-data; install requirements.txt")
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"


@cache
def fonts_register() -> frozenset[int]:
    """Register the report fonts once per process; returns the code points the text font covers."""
    directory = font_directory()
    for name, filename in FONT_FILES.items():
        path = directory / filename
        if not path.is_file():
            raise FontsMissing(f"report font {path} is missing; install requirements.txt")
        pdfmetrics.registerFont(TTFont(name, str(path)))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC, boldItalic=FONT_BOLD_ITALIC)
    covered: set[int] = set()
    for name in (FONT, FONT_BOLD, FONT_ITALIC):
        face = pdfmetrics.getFont(name).face
        codes = set(face.charToGlyph)
        covered = codes if not covered else covered & codes
    return frozenset(code for code in covered if code <= 0xFFFF)


def printable(text: object) -> str:
    """User text as it can be drawn: line breaks normalised to ``\\n``, tabs to spaces, control
    characters removed, characters the font cannot show replaced by U+FFFD."""
    value = "" if text is None else str(text)
    if value.isascii():
        if value.isprintable():
            return value
        value = _LINE_BREAKS.sub("\n", value).replace("\t", "    ")
        return _CONTROL.sub("", value)
    value = _LINE_BREAKS.sub("\n", value).replace("\t", "    ")
    value = _CONTROL.sub("", value)
    covered = fonts_register()
    return "".join(char if char.isascii() or ord(char) in covered else REPLACEMENT for char in value)


def markup_escape(text: object) -> str:
    """Printable text escaped for a reportlab ``Paragraph``: ``<``, ``>`` and ``&`` render literally,
    line breaks become ``<br/>``."""
    return escape(printable(text)).replace("\n", "<br/>")


def text_width(text: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font, size))


_WORD_WIDTHS: dict[tuple[str, float], dict[str, float]] = {}
_WORD_CACHE_LIMIT = 200_000


def word_width(word: str, font: str, size: float) -> float:
    """``text_width`` of a word, remembered per font and size (words repeat a lot in a report)."""
    widths = _WORD_WIDTHS.get((font, size))
    if widths is None or len(widths) > _WORD_CACHE_LIMIT:
        widths = _WORD_WIDTHS[(font, size)] = {}
    width = widths.get(word)
    if width is None:
        width = widths[word] = float(pdfmetrics.stringWidth(word, font, size))
    return width


def _break_word(word: str, font: str, size: float, width: float) -> list[str]:
    """Split a word wider than ``width`` into pieces that fit (at least one character each)."""
    pieces = []
    start = 0
    while start < len(word):
        end = start + 1
        while end < len(word) and text_width(word[start : end + 1], font, size) <= width:
            end += 1
        pieces.append(word[start:end])
        start = end
    return pieces


def wrap(text: object, font: str, size: float, width: float) -> list[str]:
    """Printable ``text`` broken into lines no wider than ``width`` points.

    Line breaks in the text are kept; words are separated by single spaces; a word wider than a
    line (a URL, a hash) is broken between characters. Empty text gives no line.
    """
    fonts_register()
    value = printable(text)
    if not value:
        return []
    width = max(width, 1.0)
    space = word_width(" ", font, size)
    lines: list[str] = []
    for paragraph in value.split("\n"):
        words = paragraph.split()
        if not words:
            lines.append("")
            continue
        if text_width(paragraph, font, size) <= width and "  " not in paragraph:
            lines.append(paragraph.strip())
            continue
        current: list[str] = []
        current_width = 0.0
        for word in words:
            measured = word_width(word, font, size)
            if measured > width:
                if current:
                    lines.append(" ".join(current))
                pieces = _break_word(word, font, size, width)
                lines.extend(pieces[:-1])
                current = [pieces[-1]]
                current_width = text_width(pieces[-1], font, size)
                continue
            if current and current_width + space + measured > width:
                lines.append(" ".join(current))
                current, current_width = [word], measured
            else:
                current_width += (space if current else 0.0) + measured
                current.append(word)
        if current:
            lines.append(" ".join(current))
    while lines and not lines[-1]:
        lines.pop()
    return lines
