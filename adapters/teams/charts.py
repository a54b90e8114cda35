"""A neutral ``Chart`` -> a Teams Adaptive Card chart element, with its text form as ``fallback``.

Teams draws ``Chart.Line``, ``Chart.VerticalBar``, ``Chart.VerticalBar.Grouped`` and ``Chart.Donut``
(https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/charts-in-adaptive-cards).
They are Teams' own elements, not Adaptive Card 1.5's: a host that does not know them (Outlook, an
older client) renders the element's ``fallback``, a container with the chart's title and its
sparkline text form in a monospace block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.model.messages import Chart

LINE, BAR, GROUPED, DONUT = "Chart.Line", "Chart.VerticalBar", "Chart.VerticalBar.Grouped", "Chart.Donut"


def fallback(chart: Chart, markdown: Callable[[str], str]) -> dict[str, Any]:
    title, _, body = chart.fallback.partition("\n")
    items: list[dict[str, Any]] = [{"type": "TextBlock", "text": markdown(title), "weight": "Bolder", "wrap": True}]
    if body:
        items.append({"type": "TextBlock", "text": markdown(body), "fontType": "Monospace", "wrap": True})
    return {"type": "Container", "items": items}


def _values(points: tuple[tuple[str, float | None], ...]) -> list[dict[str, Any]]:
    return [{"x": label, "y": v} for label, v in points if v is not None]


def chart_element(chart: Chart, markdown: Callable[[str], str]) -> dict[str, Any]:
    """One chart element; a chart with no data at all is its text form only."""
    fb = fallback(chart, markdown)
    el: dict[str, Any]
    if chart.kind == "donut":
        data = [{"legend": label, "value": v} for s in chart.series[:1] for label, v in s.points if v]
        el = {"type": DONUT, "data": data}
    elif chart.kind == "bar" and len(chart.series) == 1:
        el = {"type": BAR, "data": _values(chart.series[0].points), "showBarValues": True}
    else:
        data = [{"legend": s.name, "values": _values(s.points)} for s in chart.series]
        el = {"type": LINE if chart.kind == "line" else GROUPED, "data": [d for d in data if d["values"]]}
    if not el["data"]:
        return fb
    el["title"] = chart.title
    if chart.unit and chart.kind != "donut":
        el["yAxisTitle"] = chart.unit
    el["fallback"] = fb
    return el
