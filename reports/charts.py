"""Charts as SVG drawn on the server: numbers in, shapes out, for the templates to draw.

Why SVG from the server rather than a charting library: the page needs no script at all
(nothing to vendor, nothing to pass the CSP nonce to, nothing to load on a slow phone),
the chart is in the HTML the test client reads, and it scales with its viewBox from a
390 px phone to a desktop. Colours are SVG attributes, not inline styles (the CSP's
style-src has no 'unsafe-inline'). Every chart has its table under it, which is also
what a screen reader reads (the SVG is `aria-hidden`).

The viewBoxes are narrow (400 units) so that text stays readable once a phone shrinks
the drawing to its width.
"""

from __future__ import annotations

from dataclasses import dataclass

WIDTH = 400
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 36, 8, 10, 22


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    w: float
    h: float
    label: str
    value: float


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4 if value > step * 2 else step * 2 if value > step else step
    magnitude = 10 ** (len(str(int(value))) - 1)
    return (int(value / magnitude) + 1) * magnitude


def columns(
    values: list[tuple[str, float]], line: list[float] | None = None, height: int = 160
) -> dict:
    """Vertical bars (e.g. tickets filed per day), with an optional line over them."""
    top = max([v for _l, v in values] + (line or []) + [0])
    y_max = _nice_max(top)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = height - PAD_TOP - PAD_BOTTOM
    n = max(1, len(values))
    slot = plot_w / n
    gap = min(2.0, slot * 0.2)
    bars = []
    for i, (label, value) in enumerate(values):
        h = plot_h * value / y_max
        bars.append(
            Bar(
                x=round(PAD_LEFT + i * slot + gap / 2, 2),
                y=round(PAD_TOP + plot_h - h, 2),
                w=round(max(0.5, slot - gap), 2),
                h=round(h, 2),
                label=label,
                value=value,
            )
        )
    points = ""
    if line:
        points = " ".join(
            f"{PAD_LEFT + (i + 0.5) * slot:.2f},{PAD_TOP + plot_h - plot_h * v / y_max:.2f}"
            for i, v in enumerate(line)
        )
    return {
        "width": WIDTH,
        "height": height,
        "bars": bars,
        "line": points,
        "y_max": y_max,
        "y_mid": y_max / 2,
        "axis_x": PAD_LEFT,
        "axis_y": PAD_TOP + plot_h,
        "mid_y": PAD_TOP + plot_h / 2,
        "top_y": PAD_TOP,
        "right_x": WIDTH - PAD_RIGHT,
        "first_label": values[0][0] if values else "",
        "last_label": values[-1][0] if values else "",
        "label_y": height - 6,
    }


ROW_H, LABEL_H, BAR_H = 36, 14, 14


def hbars(items: list[tuple[str, float | None, str]], limit: float | None = None) -> dict:
    """Horizontal bars, each with its label above it and its value written at its end:
    (label, value, value as text). `limit`: the full length (100 for percentages)."""
    top = limit or max([v or 0 for _l, v, _t in items] + [0]) or 1
    usable = WIDTH - 70
    rows = []
    for i, (label, value, text) in enumerate(items):
        w = usable * (value or 0) / top
        y = i * ROW_H
        rows.append(
            {
                "label": label,
                "label_y": y + LABEL_H - 2,
                "bar_y": y + LABEL_H + 2,
                "bar_w": round(max(0.0, w), 2),
                "text": text,
                "text_x": round(w + 4, 2),
                "text_y": y + LABEL_H + BAR_H,
            }
        )
    return {"width": WIDTH, "height": max(ROW_H, ROW_H * len(items)), "rows": rows}
