"""Labels that never overlap: estimated widths, rows, stems, and dropping what does not fit."""

from __future__ import annotations

from sync_incident.retro.layout import Label, fit, place, text_width


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_width_estimates_err_on_the_wide_side() -> None:
    # measured in Chromium with DejaVu Sans (the widest common sans-serif) at 11 px
    assert text_width("18:00", 11) >= 33.0
    assert text_width("Wed 09 Mar", 11, True) >= 70.0
    assert text_width("mitigated", 11, True) > text_width("mitigated", 11)


def test_crowded_labels_move_to_the_next_row() -> None:
    labels = [Label(k, "resolved", x, 11) for k, x in (("a", 500), ("b", 510))]
    placed = place(labels, rows=2, low=0, high=1000)
    assert sorted(p.row for p in placed) == [0, 1]


def test_labels_that_fit_nowhere_are_dropped_and_priority_decides() -> None:
    labels = [Label("minor", "12:00", 500, 11), Label("major", "Tue 08 Mar", 505, 11, True, 3)]
    placed = place(labels, rows=1, low=0, high=1000)
    assert [p.label.key for p in placed] == ["major"]


def test_no_two_placed_labels_overlap_and_all_stay_in_bounds() -> None:
    labels = [Label(str(x), f"label {x}", float(x), 11) for x in range(0, 1000, 17)]
    placed = place(labels, rows=2, low=100, high=900)
    assert placed
    for p in placed:
        assert p.left >= 100 and p.right <= 900
    for i, p in enumerate(placed):
        for q in placed[i + 1 :]:
            assert p.row != q.row or not _overlap((p.left, p.right), (q.left, q.right))


def test_a_label_never_covers_the_stem_of_a_label_above_it() -> None:
    opened = Label("opened", "opened", 503, 11, True, 4, "start", stem=500)
    first = Label("first sign", "first sign", 483, 11, True, 2, "start", stem=480)
    placed = {p.label.key: p for p in place([opened, first], rows=2, low=0, high=1000)}
    # "first sign" (row 1) would run across the "opened" line if it sat in row 0; and if it
    # sits above, its own line crosses row 0 left of the "opened" label
    spot = placed["first sign"]
    assert spot.row == 1
    assert not (placed["opened"].left - 1 <= 480 <= placed["opened"].right + 1)


def test_fit_shortens_with_an_ellipsis() -> None:
    assert fit("Beatrice · Releng", 13, True, 500) == "Beatrice · Releng"
    short = fit("Beatrice · Releng, QA, Relman, Security, Localisation", 13, True, 174)
    assert short.endswith("…") and text_width(short, 13, True) <= 174
