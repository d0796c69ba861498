"""The audit as a picture: recall rate against cancer detection rate, one point per group.

The acceptable region of clinical-rules.md §8 (recall 5-12%, cancer detection at least 2.5 per
1,000) is shaded, the BCSC average marked, each point labelled with its group, and a point
resting on fewer than 30 screens drawn hollow (too few to judge). PNG or SVG, returned as
bytes: the caller writes the file (whole or not at all, as every file we write).

matplotlib is an optional extra (``pip install 'followup[plot]'``), imported only here and only
when a plot is drawn, through its Agg canvas: no window, no global backend switched. Without
it, :class:`PlotUnavailable` says how to install it. It is not a store error (presentation does
not import the store): the CLI must turn it into ``Error: ...`` (click.ClickException, exit 1).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, cast

from followup.rules.audit import MIN_EXAMS_TO_JUDGE, REFERENCES, AuditFigures, AuditReport

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.backend_bases import RendererBase
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

PLOT_FORMATS = {".png": "png", ".svg": "svg"}
INSTALL_HINT = "pip install 'followup[plot]'"
_REFS = {ref.name: ref for ref in REFERENCES}
RECALL_LOW = float(_REFS["recall_rate"].low or 0) * 100
RECALL_HIGH = float(_REFS["recall_rate"].high or 0) * 100
CDR_LOW = float(_REFS["cancer_detection_per_1000"].low or 0)
BCSC = (_REFS["recall_rate"].bcsc * 100, _REFS["cancer_detection_per_1000"].bcsc)
INSIDE_COLOUR, OUTSIDE_COLOUR, REGION_COLOUR = "#1f5f8b", "#c2410c", "#d9efd9"
TOTAL_EDGE = "#222222"
TOTAL_AWAY = 1.5  # the total's marker is larger: its label and its room are as much farther
MAX_LABEL = 28
# Where a label may go around its point, in points: right, left, above, below, diagonals; then
# farther out, with a leader line, when every near place is taken.
_NEAR = ((7, -4), (-7, -4), (0, 7), (0, -14), (7, 6), (-7, 6), (7, -14), (-7, -14))
_FAR = ((22, 12), (-22, 12), (22, -22), (-22, -22), (0, 22), (0, -30), (34, -4), (-34, -4))
LABEL_GAP = 4  # pixels between two labels side by side
LEFT_OUT = "Where names would overlap, some are left out: the table gives every group."
_LEADER = {"arrowstyle": "-", "color": "#888888", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 5}


class PlotUnavailable(Exception):
    """The plot cannot be drawn here: matplotlib, the ``plot`` extra, is not installed."""


@dataclass(frozen=True, slots=True)
class _Point:
    label: str
    recall: float  # percent
    detection: float  # per 1,000 screens
    screens: int
    total: bool
    x: float = 0.0  # where it is drawn: the rates, or the edge of the axes beyond which it lies
    y: float = 0.0
    marker: str = "o"

    @property
    def acceptable(self) -> bool:
        return RECALL_LOW <= self.recall <= RECALL_HIGH and self.detection >= CDR_LOW

    @property
    def few(self) -> bool:
        return self.screens < MIN_EXAMS_TO_JUDGE


def plot_format(path: str | PurePath) -> str:
    """``png`` or ``svg`` from a file name's suffix; ValueError names the ones we draw."""
    suffix = PurePath(path).suffix.lower()
    try:
        return PLOT_FORMATS[suffix]
    except KeyError:
        raise ValueError(
            f"cannot draw {PurePath(path).name!r}: the plot file must end in"
            f" {' or '.join(PLOT_FORMATS)}"
        ) from None


def check_available() -> None:
    """Raise :class:`PlotUnavailable` now if matplotlib is missing: a command that will draw
    says so before it reads a million exams, not after."""
    _matplotlib()


def audit_plot(report: AuditReport, fmt: str, facility: str | None = None) -> bytes:
    """Recall rate against cancer detection rate for each group of ``report`` (and the total),
    as ``fmt`` (``png`` or ``svg``) bytes; the same report gives the same bytes. ``facility``
    names the facility the exams were restricted to, if any. Raises
    :class:`PlotUnavailable` without matplotlib."""
    if fmt not in PLOT_FORMATS.values():
        raise ValueError(f"unknown plot format {fmt!r}; use png or svg")
    figure = audit_figure(report, facility)
    _figure_class, _canvas_class, rc_context = _matplotlib()
    out = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    with rc_context({"svg.hashsalt": "followup-audit"}):  # stable element ids
        figure.savefig(out, format=fmt, metadata=metadata)
    return out.getvalue()


def audit_figure(report: AuditReport, facility: str | None = None) -> Figure:
    """The plot as a matplotlib Figure on an Agg canvas, labels placed (for a caller that
    embeds it, e.g. a web page, or checks where the labels went)."""
    figure_class, canvas_class, rc_context = _matplotlib()
    points, missing = _points(report)
    with rc_context({"font.size": 10}):
        figure = figure_class(figsize=(8.5, 7.0), dpi=110, layout="constrained")
        canvas = canvas_class(figure)
        axes = figure.add_subplot()
        points = _draw(axes, points, report)
        figure.suptitle(_title(report), fontsize=12)
        caption = _caption(report, missing, facility)
        axes.set_title(caption, fontsize=8.5, color="#444444")
        figure.draw_without_rendering()  # lay out first: labels are placed in final pixels
        if _place_labels(axes, points, canvas.get_renderer()):
            # Some names were left out: say so, lay the figure out again with the longer
            # caption and place the labels anew in the pixels of that layout.
            for text in list(axes.texts):
                text.remove()
            axes.set_title(f"{caption}\n{LEFT_OUT}", fontsize=8.5, color="#444444")
            figure.draw_without_rendering()
            _place_labels(axes, points, canvas.get_renderer())
    return cast("Figure", figure)


def _matplotlib() -> tuple[Any, Any, Any]:
    try:
        from matplotlib import rc_context
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotUnavailable(
            f"the audit plot needs matplotlib, an optional extra: {INSTALL_HINT}"
        ) from None
    return Figure, FigureCanvasAgg, rc_context


def _label(figures: AuditFigures, by: str | None) -> str:
    if figures.total:
        return {"facility": "all facilities", "radiologist": "all radiologists"}.get(
            by or "", "all exams"
        )
    name = figures.group if figures.group is not None else f"({by} not recorded)"
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "\u2026"


def _points(report: AuditReport) -> tuple[list[_Point], list[str]]:
    """The groups that have both rates, and the names of those that do not."""
    points, missing = [], []
    for figures in report.groups:
        rates = figures.rates()
        recall, detection = rates["recall_rate"], rates["cancer_detection_per_1000"]
        label = _label(figures, report.by)
        if recall.value is None or detection.value is None:
            missing.append(label)
            continue
        screens = min(recall.denominator, detection.denominator)
        points.append(_Point(label, recall.value * 100, detection.value, screens, figures.total))
    return points, missing


def _limits(points: list[_Point]) -> tuple[float, float]:
    """Axes that show the acceptable region, the BCSC average and every group resting on
    enough screens; a small group far off (one cancer in 25 screens is 40 per 1,000) must not
    squeeze the others into a corner, so it is drawn at the edge instead."""
    judged = [p for p in points if not p.few] or points
    x_max = max([15.0, BCSC[0] * 1.3, *(p.recall * 1.12 for p in judged)])
    y_max = max([8.0, BCSC[1] * 1.5, *(p.detection * 1.15 for p in judged)])
    return x_max, y_max


def _at_edge(point: _Point, x_max: float, y_max: float) -> _Point:
    """The point where it is drawn: beyond the axes, at their edge with an arrow-head marker
    pointing out, and its rates in its label."""
    x, y = min(point.recall, x_max * 0.985), min(point.detection, y_max * 0.975)
    if (x, y) == (point.recall, point.detection):
        return replace(point, x=x, y=y, marker="D" if point.total else "o")
    label = f"{point.label} ({point.recall:.0f}%, {point.detection:.0f} per 1,000)"
    marker = "^" if y < point.detection else ">"
    return replace(point, label=label, x=x, y=y, marker=marker)


def _draw(axes: Axes, points: list[_Point], report: AuditReport) -> list[_Point]:
    """Region, BCSC average, points, axes and legend; returns the points as drawn."""
    from matplotlib.ticker import PercentFormatter

    x_max, y_max = _limits(points)
    axes.set_xlim(0, x_max)
    axes.set_ylim(0, y_max)
    axes.fill_between(
        [RECALL_LOW, RECALL_HIGH],
        CDR_LOW,
        y_max,
        color=REGION_COLOUR,
        zorder=0,
        label=f"acceptable: recall {RECALL_LOW:g}\u2013{RECALL_HIGH:g}%,"
        f" detection \u2265 {CDR_LOW:g} per 1,000",
    )
    axes.plot(*BCSC, marker="P", markersize=9, color="#777777", linestyle="none", zorder=3.5,
              label=f"BCSC average ({BCSC[0]:g}%, {BCSC[1]:g} per 1,000)")  # fmt: skip
    drawn = [_at_edge(p, x_max, y_max) for p in points]
    handles = _scatter(axes, drawn)
    axes.xaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    axes.set_xlabel("Recall rate (positive screens / screens)")
    axes.set_ylabel("Cancer detection rate (per 1,000 screens)")
    axes.grid(True, color="#e5e5e5", linewidth=0.6)
    axes.set_axisbelow(True)
    region_and_average = axes.get_legend_handles_labels()[0]
    axes.legend(
        handles=[*region_and_average, *handles],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.09),
        ncols=2,
        fontsize=8,
        frameon=False,
    )
    return drawn


def _scatter(axes: Axes, points: list[_Point]) -> list[Any]:
    """Blue inside the acceptable region, orange outside; hollow when resting on too few
    screens; the total as a diamond; an arrow head at the edge for a point beyond the axes.
    Returns legend handles for the kinds of point drawn, one meaning each."""
    from matplotlib.lines import Line2D

    for point in points:
        colour = INSIDE_COLOUR if point.acceptable else OUTSIDE_COLOUR
        axes.plot(
            point.x,
            point.y,
            marker=point.marker,
            markersize=10 if point.total else 7,
            markerfacecolor="white" if point.few else colour,
            markeredgecolor=TOTAL_EDGE if point.total else colour,  # seen in a crowd too
            markeredgewidth=1.6,
            linestyle="none",
            zorder=3.6 if point.total else 3,  # the total and the average above a crowd
            clip_on=False,
        )
    kinds = {
        "inside": (any(p.acceptable and not p.total for p in points), "o", INSIDE_COLOUR, True),
        "outside": (
            any(not p.acceptable and not p.total for p in points),
            "o",
            OUTSIDE_COLOUR,
            True,
        ),
        "few": (any(p.few for p in points), "o", "#555555", False),
        "edge": (any(p.marker in "^>" for p in points), "^", "#555555", True),
        "total": (any(p.total for p in points), "D", "#555555", True),
    }
    words = {
        "inside": "inside the acceptable region",
        "outside": "outside it",
        "few": f"fewer than {MIN_EXAMS_TO_JUDGE} screens: too few to judge",
        "edge": "beyond the axes: drawn at the edge, rates in its label",
        "total": "all groups together" if len(points) > 1 else "the programme",
    }
    return [
        Line2D(
            [],
            [],
            marker=marker,
            linestyle="none",
            markersize=7,
            markeredgewidth=1.6,
            markeredgecolor=colour,
            markerfacecolor=colour if filled else "white",
            label=words[name],
        )
        for name, (drawn, marker, colour, filled) in kinds.items()
        if drawn
    ]


def _title(report: AuditReport) -> str:
    group = f"by {report.by}" if report.by else "the programme"
    return f"Recall rate against cancer detection rate, {group}"


def _caption(report: AuditReport, missing: list[str], facility: str | None) -> str:
    where = f" at {facility}" if facility is not None else ""
    text = (
        f"Exams{where} of {report.start} to {report.end}, as of {report.as_of}.\nCancer"
        f" detection rests on the screens up to {report.outcomes_known_through}, whose"
        f" {report.outcome_days}-day window has ended."
    )
    if missing:
        text += f"\nNot plotted (no rate yet): {', '.join(missing)}."
    return text


def _label_order(point: _Point) -> tuple[int, float, float]:
    """Who gets a place first when names crowd: the total, then the groups resting on enough
    screens (those outside the acceptable region first), then the others."""
    rank = 0 if point.total else 1 + 2 * point.few + point.acceptable
    return rank, -point.y, point.x


def _place_labels(axes: Axes, points: list[_Point], renderer: RendererBase) -> int:
    """Put each label beside its point where it overlaps no label, point or axis edge placed
    so far: a few candidates per label, measured by the renderer. A label with no such place
    is left out (a crowd of names is read by nobody; the table names every group), except
    the total's, which takes the place where it overlaps least. Returns how many were left
    out."""
    from matplotlib.text import Text as text_class

    frame = axes.get_window_extent(renderer)
    spots = [_marker_box(axes, BCSC, renderer)]
    spots += [_marker_box(axes, (p.x, p.y), renderer, p.total) for p in points]
    placed: list[Bbox] = []
    left_out = 0
    for point in sorted(points, key=_label_order):
        best = None
        away = TOTAL_AWAY if point.total else 1.0  # clear of its larger marker
        for dx, dy in (*_NEAR, *_FAR):
            text = axes.annotate(
                point.label,
                (point.x, point.y),
                xytext=(dx * away, dy * away),
                textcoords="offset points",
                ha="left" if dx > 0 else "right" if dx < 0 else "center",
                fontsize=8.5,
                fontweight="bold" if point.total else "normal",
                zorder=4,
                arrowprops=_LEADER if (dx, dy) in _FAR else None,
            )
            text.set_in_layout(False)  # the layout is done: labels must not move the axes
            text.update_positions(renderer)
            box = text_class.get_window_extent(text, renderer)  # the words, not the leader
            clash = _overlap(box, [*placed, *spots]) + _outside(box, frame)
            cost = clash + (0.5 if (dx, dy) in _FAR else 0.0)  # near wins a tie
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, text, box)
            else:
                text.remove()
            if clash == 0:
                break
        assert best is not None
        if clash and not point.total:  # no place free of overlap: the last one tried clashed
            best[1].remove()
            left_out += 1
            continue
        placed.append(_spaced(best[2]))
    return left_out


def _spaced(box: Bbox) -> Bbox:
    """A placed label with a little room on either side: two names must not run together."""
    from matplotlib.transforms import Bbox

    return Bbox.from_extents(box.x0 - LABEL_GAP, box.y0, box.x1 + LABEL_GAP, box.y1)


def _marker_box(
    axes: Axes, at: tuple[float, float], renderer: RendererBase, total: bool = False
) -> Bbox:
    from matplotlib.transforms import Bbox

    x, y = axes.transData.transform(at)
    radius = cast(float, renderer.points_to_pixels(5.0 * (TOTAL_AWAY if total else 1.0)))
    return Bbox.from_extents(x - radius, y - radius, x + radius, y + radius)


def _overlap(box: Bbox, others: list[Bbox]) -> float:
    total = 0.0
    for other in others:
        width = min(box.x1, other.x1) - max(box.x0, other.x0)
        height = min(box.y1, other.y1) - max(box.y0, other.y0)
        if width > 0 and height > 0:
            total += width * height
    return total


def _outside(box: Bbox, frame: Bbox) -> float:
    """How much of the label falls outside the axes (weighted: a cut label is worst)."""
    inside_w = max(0.0, min(box.x1, frame.x1) - max(box.x0, frame.x0))
    inside_h = max(0.0, min(box.y1, frame.y1) - max(box.y0, frame.y0))
    return 4 * float(box.width * box.height - inside_w * inside_h)
