"""A neutral ``Chart`` -> Slack's ``data_visualization`` block, or its compact text form.

slack_sdk (3.47) has no model for the data visualization block yet, so ``DataVisualizationBlock``
subclasses slack_sdk's ``Block`` and checks Slack's documented limits with the SDK's own
``JsonValidator`` (``to_dict()`` raises ``SlackObjectFormationError`` like every other block):
https://docs.slack.dev/reference/block-kit/blocks/data-visualization-block

- ``title``: at most 50 characters; ``chart.type``: ``pie``, ``bar``, ``area`` or ``line``.
- ``pie``: 1-6 ``segments``, each ``label`` at most 20 characters, ``value`` greater than 0.
- ``bar``/``area``/``line``: 1-6 ``series`` with unique ``name`` (at most 20 characters), each with
  1-20 ``data`` points ``{label, value}`` whose labels are among ``axis_config.categories`` (each at
  most 20 characters); ``axis_config.x_label``/``y_label`` at most 50 characters.
- At most two data visualization blocks in one message.

Where a workspace cannot show the block (Slack answers ``invalid_blocks``), or past two charts, the
chart is a section with its sparkline text form (``Chart.fallback``).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.basic_objects import JsonValidator
from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.model import messages as m

TYPE = "data_visualization"
MAX_TITLE = 50
MAX_SERIES = 6
MAX_SEGMENTS = 6
MAX_NAME = 20
MAX_LABEL = 20
MAX_POINTS = 20
MAX_AXIS_LABEL = 50
MAX_PER_MESSAGE = 2
KINDS = {"line": "line", "bar": "bar", "donut": "pie"}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DataVisualizationBlock(Block):
    """Slack's ``data_visualization`` block, validated against the documented limits."""

    type = TYPE

    @property
    def attributes(self) -> set[str]:  # type: ignore[override]
        return super().attributes.union({"title", "chart"})

    def __init__(self, *, title: str, chart: dict[str, Any], block_id: str | None = None) -> None:
        super().__init__(type=TYPE, block_id=block_id)
        self.title = title
        self.chart = chart

    @JsonValidator(f"title must be 1-{MAX_TITLE} characters")
    def _validate_title(self) -> bool:
        return 0 < len(self.title) <= MAX_TITLE

    @JsonValidator("chart type must be pie, bar, area or line")
    def _validate_type(self) -> bool:
        return self.chart.get("type") in ("pie", "bar", "area", "line")

    @JsonValidator(f"a pie has 1-{MAX_SEGMENTS} segments, labels of at most {MAX_LABEL} characters, values > 0")
    def _validate_pie(self) -> bool:
        if self.chart.get("type") != "pie":
            return True
        segs = self.chart.get("segments") or []
        return 0 < len(segs) <= MAX_SEGMENTS and all(
            0 < len(s["label"]) <= MAX_LABEL and isinstance(s["value"], int | float) and s["value"] > 0 for s in segs)

    @JsonValidator(f"1-{MAX_SERIES} series with unique names of at most {MAX_NAME} characters, "
                   f"1-{MAX_POINTS} points each, labels among the axis categories")
    def _validate_series(self) -> bool:
        if self.chart.get("type") == "pie":
            return True
        series = self.chart.get("series") or []
        axis = self.chart.get("axis_config") or {}
        cats = axis.get("categories") or []
        names = [s["name"] for s in series]
        return (
            0 < len(series) <= MAX_SERIES and len(set(names)) == len(names)
            and all(0 < len(n) <= MAX_NAME for n in names)
            and all(0 < len(c) <= MAX_LABEL for c in cats)
            and all(0 < len(s["data"]) <= MAX_POINTS and all(
                p["label"] in cats and isinstance(p["value"], int | float) for p in s["data"]) for s in series)
            and all(len(axis.get(k) or "") <= MAX_AXIS_LABEL for k in ("x_label", "y_label"))
        )


def chart_block(chart: m.Chart) -> DataVisualizationBlock | None:
    """The native block, or ``None`` when the chart has nothing Slack can draw."""
    title = _clip(chart.title, MAX_TITLE)
    if chart.kind == "donut":
        points = [(label, v) for s in chart.series[:1] for label, v in s.points if v is not None and v > 0]
        if not points:
            return None
        segments = [{"label": _clip(label, MAX_LABEL), "value": v} for label, v in points[:MAX_SEGMENTS]]
        return DataVisualizationBlock(title=title, chart={"type": "pie", "segments": segments})
    series: list[dict[str, Any]] = []
    cats: list[str] = []
    for s in chart.series[:MAX_SERIES]:
        data = [{"label": _clip(label, MAX_LABEL), "value": v} for label, v in s.points if v is not None]
        data = data[-MAX_POINTS:]
        if not data:
            continue
        series.append({"name": _clip(s.name, MAX_NAME), "data": data})
        cats.extend(p["label"] for p in data if p["label"] not in cats)
    if not series:
        return None
    order = [_clip(label, MAX_LABEL) for s in chart.series for label, _ in s.points]
    cats.sort(key=order.index)
    axis: dict[str, Any] = {"categories": cats}
    if chart.unit:
        axis["y_label"] = _clip(chart.unit, MAX_AXIS_LABEL)
    return DataVisualizationBlock(title=title, chart={"type": KINDS[chart.kind], "series": series,
                                                      "axis_config": axis})


def text_block(chart: m.Chart, escape: Any) -> SectionBlock:
    """The compact text form: the title in bold, the sparklines in a code block (they line up)."""
    title, _, body = chart.fallback.partition("\n")
    text = f"*{escape(title)}*" + (f"\n```{escape(body)}```" if body else "")
    return SectionBlock(text=MarkdownTextObject(text=_clip(text, 3000)))


def has_chart(message: m.Message) -> bool:
    return any(isinstance(b, m.Chart) for b in message.blocks)
