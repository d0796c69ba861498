"""The audit plot (issue 15 point 4): recall against cancer detection, PNG or SVG bytes.

Eight radiologists of a realistic synthetic year (and one group too small to judge, and one
without screens) are drawn; the tests read the bytes back and the placed labels.
"""

from __future__ import annotations

import random
import struct
import subprocess
import sys
from datetime import date, timedelta

import pytest

from followup.present import audit_plot as plot
from followup.rules.audit import AuditBiopsy, AuditExam, AuditPatient, AuditReport, audit

pytest.importorskip(
    "matplotlib", reason="the plot needs the 'plot' extra: pip install -e '.[plot]'"
)

START, END, AS_OF = date(2024, 1, 1), date(2024, 12, 31), date(2026, 2, 1)
# radiologist: screens, recall, cancers per 1,000 screens
RADIOLOGISTS = {
    "Dr Amelia Hart": (1600, 0.098, 5.6),
    "Dr Ben Okafor": (1400, 0.112, 5.0),
    "Dr Chen Wei": (1250, 0.104, 4.8),
    "Dr Dana Ruiz": (950, 0.142, 6.1),
    "Dr Emil Novak": (1050, 0.047, 2.2),
    "Dr Farah Haddad": (750, 0.121, 5.3),
    "Dr Grace Lindqvist": (450, 0.085, 3.1),
    "Dr Hiro Tanaka": (25, 0.2, 40.0),  # too few to judge, far off the others
}


def programme(seed: int = 7):
    rng = random.Random(seed)
    for name, (screens, recall, cdr) in RADIOLOGISTS.items():
        for _ in range(screens):
            day = START + timedelta(days=rng.randrange(366))
            cancer = rng.random() < cdr / 1000
            positive = cancer or rng.random() < recall
            exams = [
                AuditExam(day, "screening", "incomplete" if positive else "negative", "N", name)
            ]
            biopsies = [AuditBiopsy(day + timedelta(days=20), "malignant")] if cancer else []
            yield AuditPatient(exams, biopsies)
    yield AuditPatient([AuditExam(START, "diagnostic", "suspicious", "N", "Dr Ida Diag")])


@pytest.fixture(scope="module")
def report() -> AuditReport:
    return audit(programme(), START, END, AS_OF, by="radiologist")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_png_bytes_of_a_readable_size(report):
    width, height = png_size(plot.audit_plot(report, "png"))
    assert 800 <= width <= 1200 and 600 <= height <= 1000


def test_svg_bytes_name_every_group_and_are_the_same_each_time(report):
    svg = plot.audit_plot(report, "svg")
    assert svg.startswith(b"<?xml") and b"<svg" in svg
    text = svg.decode()
    for name in [n for n in RADIOLOGISTS if n != "Dr Hiro Tanaka"]:
        assert f"<!-- {name} -->" in text, name  # text drawn as paths keeps a comment
    assert "<!-- all radiologists -->" in text
    assert "Dr Hiro Tanaka (" in text  # drawn at the edge, its rates in its label
    assert "Not plotted (no rate yet): Dr Ida Diag." in text
    assert plot.audit_plot(report, "svg") == svg  # no date, stable ids


def test_axes_in_percent_and_per_1000_with_the_acceptable_region_shaded(report):
    figure = plot.audit_figure(report)
    (axes,) = figure.axes
    assert axes.get_xlabel().startswith("Recall rate")
    assert "per 1,000" in axes.get_ylabel()
    figure.draw_without_rendering()
    ticks = [t.get_text() for t in axes.get_xticklabels()]
    assert "10%" in ticks
    (region,) = axes.collections  # fill_between: recall 5-12%, detection >= 2.5
    (x0, y0), (x1, y1) = region.get_paths()[0].get_extents().get_points()
    assert (x0, x1, y0) == (5, 12, 2.5) and y1 == axes.get_ylim()[1]
    legend = [t.get_text() for t in axes.get_legend().get_texts()]
    assert legend[0] == "acceptable: recall 5\u201312%, detection \u2265 2.5 per 1,000"
    assert "fewer than 30 screens: too few to judge" in legend
    # The small far-off group does not stretch the axes: they stay near the others.
    assert axes.get_ylim()[1] < 10 and axes.get_xlim()[1] < 20


def test_labels_do_not_overlap_each_other_nor_leave_the_axes(report):
    figure = plot.audit_figure(report)
    (axes,) = figure.axes
    renderer = figure.canvas.get_renderer()
    frame = axes.get_window_extent(renderer)
    boxes = [t.get_window_extent(renderer) for t in axes.texts]
    assert len(boxes) == len(RADIOLOGISTS) + 1  # eight radiologists and all of them
    for index, box in enumerate(boxes):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0
        assert box.y1 <= frame.y1
        for other in boxes[index + 1 :]:
            assert not box.overlaps(other)


def test_a_crowd_of_names_is_thinned_and_the_caption_says_so(report):
    from matplotlib.text import Text

    """Forty radiologists with the same figures: one spot, room for a few names only. The
    total keeps its label; the others never overlap; the caption says names were left out."""
    crowd = [
        AuditPatient([AuditExam(START + timedelta(days=day), "screening", category, "N", reader)])
        for reader in (f"Dr Number {number:02d}" for number in range(40))
        for day, category in enumerate(["negative"] * 45 + ["incomplete"] * 5)
    ]
    figure = plot.audit_figure(audit(crowd, START, END, AS_OF, by="radiologist"))
    (axes,) = figure.axes
    labels = [t.get_text() for t in axes.texts]
    assert "all radiologists" in labels and 1 < len(labels) < 41
    assert axes.get_title().endswith(plot.LEFT_OUT)
    renderer = figure.canvas.get_renderer()
    boxes = [Text.get_window_extent(t, renderer) for t in axes.texts]  # the words, no leader
    for index, box in enumerate(boxes):
        assert not any(box.overlaps(other) for other in boxes[index + 1 :])
    assert plot.LEFT_OUT not in plot.audit_figure(report).axes[0].get_title()  # room for all


def test_the_caption_names_the_facility_the_exams_were_restricted_to(report):
    caption = plot.audit_figure(report, "Northside Imaging").axes[0].get_title()
    assert caption.startswith("Exams at Northside Imaging of 2024-01-01 to 2024-12-31,")


def test_a_single_programme_is_one_point():
    report = audit(programme(), START, END, AS_OF)
    figure = plot.audit_figure(report)
    assert [t.get_text() for t in figure.axes[0].texts] == ["all exams"]


def test_the_format_comes_from_the_file_suffix():
    assert plot.plot_format("audit.PNG") == "png"
    assert plot.plot_format("out/audit.svg") == "svg"
    with pytest.raises(ValueError, match=r"'audit.pdf': the plot file must end in \.png or \.svg"):
        plot.plot_format("audit.pdf")
    with pytest.raises(ValueError, match="unknown plot format 'gif'"):
        plot.audit_plot(audit([], START, END, AS_OF), "gif")


def test_without_matplotlib_the_error_names_the_extra(monkeypatch, report):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    with pytest.raises(plot.PlotUnavailable) as raised:
        plot.audit_plot(report, "png")
    assert str(raised.value) == (
        "the audit plot needs matplotlib, an optional extra: pip install 'followup[plot]'"
    )


def test_presentation_imports_neither_the_store_nor_matplotlib_until_a_plot_is_drawn():
    code = (
        "import sys\n"
        "import followup.present.audit_plot, followup.present.audit_report\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'matplotlib')"
        " or m.startswith('followup.store') or m.startswith('followup.cli')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
