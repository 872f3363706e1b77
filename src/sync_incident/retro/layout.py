"""Text labels that never overlap: estimate widths, then place each label in a free row or drop it.

The picture is static SVG (no script measures text in the reader's browser), so widths are
estimated from the advance widths of DejaVu Sans, the widest common sans-serif (and what a bare
Linux falls back to). Narrower fonts (Segoe UI, San Francisco, Roboto) only add room. A label
that finds no free row is dropped: its element keeps the full text as a ``<title>``.
"""

from __future__ import annotations

from dataclasses import dataclass

# advance widths in em of DejaVu Sans Book, rounded up into a few classes
_WIDTH_CLASSES: tuple[tuple[str, float], ...] = (
    ("ijlIJ'", 0.30),
    (' ,.:;/\\|-·f!"', 0.40),
    ("rt()[]{}", 0.46),
    ("csz?*_`–", 0.56),
    ("ABCDGHKNOQRUVXZ&", 0.80),
    ("mwMW@%#+<=>^~→…—✓", 1.0),
)
_WIDTH_OF = {ch: width for chars, width in _WIDTH_CLASSES for ch in chars}
_DEFAULT = 0.65  # other letters and digits (digits are 0.64 em)
_BOLD = 1.12  # DejaVu Sans Bold is about a tenth wider


def text_width(text: str, size: float, bold: bool = False) -> float:
    """A generous estimate of the rendered width of ``text`` at ``size`` px."""
    ems = sum(_WIDTH_OF.get(ch, _DEFAULT if ch.isascii() else 1.0) for ch in text)
    return ems * size * (_BOLD if bold else 1.0)


def fit(text: str, size: float, bold: bool, room: float) -> str:
    """``text``, shortened with an ellipsis until it fits ``room`` px."""
    if text_width(text, size, bold) <= room:
        return text
    while text and text_width(text + "…", size, bold) > room:
        text = text[:-1]
    return text.rstrip() + "…"


@dataclass(frozen=True)
class Label:
    """A label that would like to start at ``x`` (``anchor`` says which edge ``x`` is)."""

    key: str
    text: str
    x: float
    size: float
    bold: bool = False
    priority: int = 0  # higher is placed first
    anchor: str = "middle"  # "start", "middle" or "end", as SVG's text-anchor
    stem: float | None = None  # x of a line from the label down through the rows below it

    @property
    def width(self) -> float:
        return text_width(self.text, self.size, self.bold)


@dataclass(frozen=True)
class Placed:
    label: Label
    row: int
    left: float  # the label's box, after it was moved inside the bounds
    right: float

    @property
    def centre(self) -> float:
        """Where to draw it with ``text-anchor="middle"``: the real text stays inside the box."""
        return (self.left + self.right) / 2


def _box(label: Label, low: float, high: float) -> tuple[float, float]:
    width = label.width
    left = {"start": label.x, "end": label.x - width}.get(label.anchor, label.x - width / 2)
    left = max(low, min(left, high - width))  # slide inside the bounds
    return left, left + width


def place(
    labels: list[Label], *, rows: int, low: float, high: float, gap: float = 6.0
) -> list[Placed]:
    """Put each label in the first row where it overlaps nothing; drop those that fit nowhere.

    Row 0 is the preferred one; a label's ``stem`` crosses the rows below its own (0 … row-1),
    so no label there may cover it. Labels are taken by priority (highest first), then left to
    right, so a crowded axis keeps its important labels. ``gap`` is the least room between two
    labels in a row.
    """
    taken: list[list[tuple[float, float]]] = [[] for _ in range(rows)]
    out: list[Placed] = []
    for label in sorted(labels, key=lambda item: (-item.priority, item.x)):
        left, right = _box(label, low, high)
        for row in range(rows):
            rows_hit, boxes = [row], [(left, right)]
            if label.stem is not None:  # the stem crosses every row below this one
                rows_hit += range(row)
                boxes += [(label.stem - 1, label.stem + 1)] * row
            if all(_free(taken[r], box, gap) for r, box in zip(rows_hit, boxes, strict=True)):
                for r, box in zip(rows_hit, boxes, strict=True):
                    taken[r].append(box)
                out.append(Placed(label, row, left, right))
                break
    return sorted(out, key=lambda p: (p.row, p.left))


def _free(boxes: list[tuple[float, float]], box: tuple[float, float], gap: float) -> bool:
    left, right = box
    return all(right + gap <= a or left >= b + gap for a, b in boxes)
