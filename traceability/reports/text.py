"""Fonts and text for the PDF report: the embedded fonts, making user text printable, wrapping.

The report embeds DejaVu Sans (regular, bold, oblique) and DejaVu Sans Mono, taken from the
TrueType files that matplotlib ships in ``mpl-data/fonts/ttf`` (a pinned dependency; nothing
is downloaded at run time, and matplotlib itself is never imported). DejaVu Sans covers Latin,
Greek, Cyrillic, Armenian, Georgian, Hebrew and Arabic letters, IPA, arrows, mathematical
operators, box drawing and dingbats (✓ ✗ → ≤ ≥ µ °), with a true bold, which the variable-only
Noto Sans package lacks.

A character DejaVu has no glyph for is drawn, character by character, in a fallback font when one
is installed: Droid Sans Fallback (CJK ideographs, kana, Hangul; Debian's ``fonts-droid-fallback``)
and then Symbola (emoji and symbols; ``fonts-symbola``), both TrueType (glyf) fonts embedded as
subsets like DejaVu. ``make install`` installs them where apt is available. A character no
installed font covers is printed as U+FFFD (�) so the gap is visible and text extraction stays
clean; the CSV and XLSX exports carry the original text. Arabic is drawn without contextual
shaping and right-to-left scripts in logical order.

Item text is user input. Table cells are drawn as plain strings (never parsed as markup), and
every text that goes into a ``Paragraph`` goes through ``markup_escape``.
"""

import re
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics, ttfonts
from reportlab.pdfbase.ttfonts import TTFont

FONT = "QiSans"
FONT_BOLD = "QiSans-Bold"
FONT_ITALIC = "QiSans-Oblique"
FONT_BOLD_ITALIC = "QiSans-BoldOblique"
FONT_MONO = "QiMono"
FONT_FALLBACK = "QiFallback"
FONT_SYMBOLS = "QiSymbols"

FONT_FILES = {
    FONT: "DejaVuSans.ttf",
    FONT_BOLD: "DejaVuSans-Bold.ttf",
    FONT_ITALIC: "DejaVuSans-Oblique.ttf",
    FONT_BOLD_ITALIC: "DejaVuSans-BoldOblique.ttf",
    FONT_MONO: "DejaVuSansMono.ttf",
}

# Fallback fonts for the characters DejaVu lacks, in order of preference: (name, candidate paths).
# They come from Debian packages (``make install`` installs them); a missing one is skipped.
FALLBACK_FILES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (FONT_FALLBACK, ("/usr/share/fonts-droid-fallback/truetype/DroidSansFallback.ttf",)),
    (FONT_SYMBOLS, ("/usr/share/fonts/truetype/ancient-scripts/Symbola_hint.ttf",)),
)

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


_ASTRAL_CMAP_ENTRY = re.compile(r"^<([0-9A-F]{2})> <([0-9A-F]{5,6})>$", re.MULTILINE)


def _to_unicode_cmap(fontname: str, subset: Any, _original: Any = ttfonts.makeToUnicodeCMap) -> str:
    """reportlab's ToUnicode CMap, with characters beyond U+FFFF (emoji) written as UTF-16
    surrogate pairs as the PDF format wants (reportlab writes 5 hex digits, which readers reject,
    so copying an emoji out of the PDF would give nothing)."""
    return str(
        _ASTRAL_CMAP_ENTRY.sub(
            lambda match: f"<{match[1]}> <{chr(int(match[2], 16)).encode('utf-16-be').hex().upper()}>",
            _original(fontname, subset),
        )
    )


@cache
def fallback_fonts() -> dict[int, str]:
    """Register the installed fallback fonts once per process; returns, for every code point the
    text font lacks and a fallback font has, the name of the first such font."""
    covered = fonts_register()
    ttfonts.makeToUnicodeCMap = _to_unicode_cmap
    fallback: dict[int, str] = {}
    for name, candidates in FALLBACK_FILES:
        path = next((Path(candidate) for candidate in candidates if Path(candidate).is_file()), None)
        if path is None:
            continue
        pdfmetrics.registerFont(TTFont(name, str(path)))
        for code in pdfmetrics.getFont(name).face.charToGlyph:
            if code > 0x20 and code not in covered and code not in fallback and not 0xD800 <= code <= 0xDFFF:
                fallback[code] = name
    return fallback


def runs(text: str, font: str) -> list[tuple[str, str]]:
    """``text`` (already printable) as runs of (text, font): ``font`` for what it covers, a
    fallback font for the characters it lacks."""
    if text.isascii():
        return [(text, font)]
    fallback = fallback_fonts()
    pieces: list[tuple[str, str]] = []
    start, current = 0, font
    for index, char in enumerate(text):
        wanted = fallback.get(ord(char), font)
        if wanted != current:
            if index > start:
                pieces.append((text[start:index], current))
            start, current = index, wanted
    pieces.append((text[start:], current))
    return pieces


def draw_string(canvas: Any, x: float, y: float, text: str, font: str, size: float, *, anchor: str = "start") -> None:
    """Draw printable ``text`` on a canvas with per-character font fallback."""
    pieces = runs(text, font)
    if anchor != "start":
        width = sum(text_width(piece, name, size) for piece, name in pieces)
        x -= width if anchor == "end" else width / 2
    for piece, name in pieces:
        canvas.setFont(name, size)
        canvas.drawString(x, y, piece)
        x += text_width(piece, name, size)


def printable(text: object) -> str:
    """User text as it can be drawn: line breaks normalised to ``\\n``, tabs to spaces, control
    characters removed, characters no embedded font can show replaced by U+FFFD."""
    value = "" if text is None else str(text)
    if value.isascii():
        if value.isprintable():
            return value
        value = _LINE_BREAKS.sub("\n", value).replace("\t", "    ")
        return _CONTROL.sub("", value)
    value = _LINE_BREAKS.sub("\n", value).replace("\t", "    ")
    value = _CONTROL.sub("", value)
    covered = fonts_register()
    fallback = fallback_fonts()
    return "".join(
        char if char.isascii() or ord(char) in covered or ord(char) in fallback else REPLACEMENT for char in value
    )


def plain(text: object) -> str:
    """Text for the PDF's metadata and outline (shown by the viewer in its own fonts): line breaks
    and tabs become spaces, control characters are removed, every other character is kept."""
    value = "" if text is None else str(text)
    return _CONTROL.sub("", _LINE_BREAKS.sub(" ", value).replace("\n", " ").replace("\t", " "))


def ellipsize(text: str, font: str, size: float, width: float) -> str:
    """Printable ``text`` cut to ``width`` points at a word boundary, with an ellipsis when cut
    (between characters only when a single word is wider than the line)."""
    text = " ".join(text.split())
    if text_width(text, font, size) <= width:
        return text
    room = width - text_width("…", font, size)
    words = text.split(" ")
    kept: list[str] = []
    for word in words:
        candidate = " ".join([*kept, word])
        if text_width(candidate, font, size) > room:
            break
        kept.append(word)
    if kept:
        return " ".join(kept).rstrip(",;:.–-") + "…"
    cut = text
    while cut and text_width(cut, font, size) > room:
        cut = cut[:-1]
    return cut + "…"


def markup_escape(text: object) -> str:
    """Printable text escaped for a reportlab ``Paragraph``: ``<``, ``>`` and ``&`` render literally,
    line breaks become ``<br/>``; characters the text font lacks are set in a fallback font."""
    value = printable(text)
    if value.isascii():
        return escape(value).replace("\n", "<br/>")
    marked = "".join(
        escape(piece) if name == FONT else f'<font name="{name}">{escape(piece)}</font>'
        for piece, name in runs(value, FONT)
    )
    return marked.replace("\n", "<br/>")


def text_width(text: str, font: str, size: float) -> float:
    if text.isascii():
        return float(pdfmetrics.stringWidth(text, font, size))
    return float(sum(pdfmetrics.stringWidth(piece, name, size) for piece, name in runs(text, font)))


_WORD_WIDTHS: dict[tuple[str, float], dict[str, float]] = {}
_WORD_CACHE_LIMIT = 200_000


def word_width(word: str, font: str, size: float) -> float:
    """``text_width`` of a word, remembered per font and size (words repeat a lot in a report)."""
    widths = _WORD_WIDTHS.get((font, size))
    if widths is None or len(widths) > _WORD_CACHE_LIMIT:
        widths = _WORD_WIDTHS[(font, size)] = {}
    width = widths.get(word)
    if width is None:
        width = widths[word] = text_width(word, font, size)
    return width


# Where an identifier may break (after these): test IDs, module paths, file paths, keys.
_BREAK_AFTER = re.compile(r"(?<=[_./\\-])(?=[^_./\\-])|(?<=::)(?=[^:])")


def _break_word(word: str, font: str, size: float, width: float) -> list[str]:
    """Split a word wider than ``width`` into pieces that fit: after ``_ . / \\ :: -`` first
    (``clinician_`` / ``calculation``), between characters only for a part still too wide."""
    pieces: list[str] = []
    current = ""
    for part in _BREAK_AFTER.split(word):
        if current and text_width(current + part, font, size) <= width:
            current += part
            continue
        if current:
            pieces.append(current)
        current = part
        if text_width(current, font, size) > width:
            chunks = _break_chars(current, font, size, width)
            pieces.extend(chunks[:-1])
            current = chunks[-1]
    if current:
        pieces.append(current)
    return pieces


def _break_chars(word: str, font: str, size: float, width: float) -> list[str]:
    """Split a word between characters into pieces no wider than ``width`` (at least one each)."""
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
