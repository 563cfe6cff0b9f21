"""Colours, page geometry and paragraph styles of the PDF report."""

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle

from traceability.reports.tables.model import status_label
from traceability.reports.text import FONT, FONT_BOLD, FONT_ITALIC

# --- page ---------------------------------------------------------------------------------------
PAGE_SIZE = landscape(A4)
PAGE_WIDTH, PAGE_HEIGHT = PAGE_SIZE
MARGIN_X = 34.0
MARGIN_TOP = 52.0
MARGIN_BOTTOM = 44.0
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
FRAME_HEIGHT = PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

# --- colours ------------------------------------------------------------------------------------
INK = HexColor("#1f2933")
MUTED = HexColor("#52606d")
FAINT = HexColor("#9aa5b1")
RULE = HexColor("#cbd2d9")
GRID_RULE = HexColor("#d9dee4")
BRAND = HexColor("#1f3a5f")
ACCENT = HexColor("#2c7a7b")
HEADER_FILL = BRAND
HEADER_INK = HexColor("#ffffff")
PANEL = HexColor("#f3f5f7")
WHITE = HexColor("#ffffff")

GREEN = HexColor("#1e7b3c")
AMBER = HexColor("#b7791f")
ORANGE = HexColor("#c05621")
RED = HexColor("#c0392b")
GREY = HexColor("#718096")

GREEN_FILL = HexColor("#e3f4e8")
AMBER_FILL = HexColor("#fff4d6")
ORANGE_FILL = HexColor("#fde8cf")
RED_FILL = HexColor("#fbdada")
GREY_FILL = HexColor("#eef0f3")
HEADING_FILL = HexColor("#e6ebf1")

ACCEPTABLE_FILL = HexColor("#b9e4c6")
UNACCEPTABLE_FILL = HexColor("#f4b6b0")

# Matrix row statuses (traceability.graph.matrix) and their colours: (fill, ink, label).
ROW_STATUS: dict[str, tuple[Color, Color, str]] = {
    "verified": (GREEN_FILL, GREEN, status_label("verified")),
    "not_applicable": (GREY_FILL, GREY, status_label("not_applicable")),
    "suspect": (AMBER_FILL, AMBER, status_label("suspect")),
    "not_verified": (ORANGE_FILL, ORANGE, status_label("not_verified")),
    "failed": (RED_FILL, RED, status_label("failed")),
}
# Reverse matrix (test) statuses.
TEST_STATUS: dict[str, tuple[Color, Color, str]] = {
    "passed": (GREEN_FILL, GREEN, status_label("passed")),
    "failed": (RED_FILL, RED, status_label("failed")),
    "no_result": (ORANGE_FILL, ORANGE, status_label("no_result")),
}
# Risk statuses (traceability.graph.risk).
RISK_STATUS: dict[str, tuple[Color, Color, str]] = {
    "acceptable": (GREEN_FILL, GREEN, status_label("acceptable")),
    "controlled": (GREEN_FILL, GREEN, status_label("controlled")),
    "control_not_verified": (ORANGE_FILL, ORANGE, status_label("control_not_verified")),
    "residual_unacceptable": (RED_FILL, RED, status_label("residual_unacceptable")),
    "not_controlled": (RED_FILL, RED, status_label("not_controlled")),
}
SEVERITY_INK = {"error": RED, "warning": AMBER}


# --- paragraph styles ---------------------------------------------------------------------------
def _style(name: str, **values: object) -> ParagraphStyle:
    base: dict[str, object] = {
        "fontName": FONT,
        "fontSize": 9,
        "leading": 12,
        "textColor": INK,
        "alignment": TA_LEFT,
    }
    base.update(values)
    return ParagraphStyle(name, **base)


BODY = _style("body")
SMALL = _style("small", fontSize=7.5, leading=9.5, textColor=MUTED)
CELL = _style("cell", fontSize=8, leading=10)
CELL_BOLD = _style("cell-bold", fontName=FONT_BOLD, fontSize=8, leading=10)
LABEL = _style("label", fontName=FONT_BOLD, fontSize=7.5, leading=10, textColor=MUTED)
NOTE = _style("note", fontName=FONT_ITALIC, fontSize=8, leading=10.5, textColor=MUTED)
H1 = _style("h1", fontName=FONT_BOLD, fontSize=15, leading=19, textColor=BRAND, spaceBefore=0, spaceAfter=8)
H2 = _style("h2", fontName=FONT_BOLD, fontSize=11, leading=14, textColor=BRAND, spaceBefore=10, spaceAfter=5)
COVER_KICKER = _style("cover-kicker", fontName=FONT_BOLD, fontSize=10, leading=13, textColor=ACCENT)
COVER_TITLE = _style("cover-title", fontName=FONT_BOLD, fontSize=28, leading=33, textColor=BRAND)
COVER_SUBTITLE = _style("cover-subtitle", fontSize=15, leading=20, textColor=INK)
BANNER = _style("banner", fontName=FONT_BOLD, fontSize=16, leading=20, textColor=WHITE)
BANNER_NOTE = _style("banner-note", fontSize=8.5, leading=11, textColor=WHITE)
TOC_1 = _style("toc-1", fontName=FONT_BOLD, fontSize=10.5, leading=17)
TOC_2 = _style("toc-2", fontSize=9, leading=14, textColor=INK)
