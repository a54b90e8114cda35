"""Building ``Chart`` blocks and their compact text form (sparklines), with no words of its own.

The text form is what the console, ``--platform text`` and chat platforms that cannot draw the chart
show: one line per series, ``name  ▁▂▄▆█  62%  ↑8``: the trend, the last value and the change
from the value before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.model.messages import Chart, ChartKind, Series

BARS = "▁▂▃▄▅▆▇█"
GAP = "·"  # a week without data
UP, DOWN, SAME = "↑", "↓", "→"


def sparkline(values: Sequence[float | None]) -> str:
    """``[1, 2, None, 4]`` -> ``▁▃·█``: each value scaled between the series' smallest and largest."""
    known = [v for v in values if v is not None]
    if not known:
        return GAP * len(values)
    lo, hi = min(known), max(known)
    top = len(BARS) - 1
    out = []
    for v in values:
        if v is None:
            out.append(GAP)
        elif hi == lo:
            out.append(BARS[top // 2])
        else:
            out.append(BARS[round((v - lo) / (hi - lo) * top)])
    return "".join(out)


def fmt(value: float, unit: str, decimals: int) -> str:
    return f"{value:.{decimals}f}{unit}"


def change(values: Sequence[float | None], decimals: int) -> str:
    """The last value against the one before it (both known): ``↑8``, ``↓0.3``, ``→``."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return ""
    delta = round(known[-1] - known[-2], decimals)
    if delta == 0:
        return SAME
    return f"{UP if delta > 0 else DOWN}{abs(delta):.{decimals}f}"


def text_form(kind: ChartKind, title: str, series: Sequence[Series], unit: str, decimals: int,
              show_change: bool = True) -> str:
    lines = [title]
    if kind == "donut":
        points = [(label, v) for s in series[:1] for label, v in s.points if v]
        total = sum(v for _, v in points if v) or 1.0
        lines.append("  " + " · ".join(f"{label} {fmt(v or 0, unit, decimals)} ({100 * (v or 0) / total:.0f}%)"
                                      for label, v in points))
        return "\n".join(lines)
    width = max((len(s.name) for s in series), default=0)
    for s in series:
        values = [v for _, v in s.points]
        last = next((v for v in reversed(values) if v is not None), None)
        parts = [s.name.ljust(width), sparkline(values)]
        if last is not None:
            parts.append(fmt(last, unit, decimals))
        if show_change and (tail := change(values, decimals)):
            parts.append(tail)
        lines.append("  " + "  ".join(parts))
    return "\n".join(lines)


def chart(kind: ChartKind, title: str, series: Iterable[tuple[str, Iterable[tuple[str, float | None]]]],
          unit: str = "", decimals: int = 0, show_change: bool = True) -> Chart:
    """A chart whose ``fallback`` is its text form; values are rounded to ``decimals``. ``show_change=False``
    leaves out the week-on-week arrow (where the message already states that figure's one trend)."""
    def num(v: float | None) -> float | None:
        if v is None:
            return None
        return round(float(v), decimals) if decimals else round(float(v))

    built = tuple(Series(name, tuple((label, num(v)) for label, v in pts)) for name, pts in series)
    return Chart(kind=kind, title=title, series=built, unit=unit,
                 fallback=text_form(kind, title, built, unit, decimals, show_change))
