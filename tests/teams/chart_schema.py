"""Adaptive Card 1.5's schema (../shared/schemas) with Teams' chart elements allowed explicitly.

Teams draws ``Chart.*`` elements that are not part of Adaptive Card 1.5, so the official schema
refuses them. The definitions below add the four Momentum sends, with the properties Teams documents
for them (learn.microsoft.com, "Charts in Adaptive Cards"), each strict (``additionalProperties:
false``) and each an ``Extendable.Element`` like every 1.5 element, so the 1.5 rules on ``fallback``,
``spacing``, ``separator``, ``height``, ``id``, ``isVisible`` and ``requires`` still hold. They are
added to ``ImplementationsOf.Element``: where a card may hold an element, it may hold a chart.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.conftest import require_schema

NUMBER_OR_TEXT = {"type": ["number", "string"]}
COMMON = {  # documented for every chart element beside the Extendable.Element ones
    "fallback": {}, "height": {}, "separator": {}, "spacing": {}, "id": {}, "isVisible": {}, "requires": {},
    "grid.area": {"type": "string"},
    "horizontalAlignment": {"enum": ["Left", "Center", "Right"]},
    "lang": {"type": "string"},
    "targetWidth": {"type": "string"},
    "title": {"type": "string"},
    "colorSet": {"type": "string"},
}
AXES = {"xAxisTitle": {"type": "string"}, "yAxisTitle": {"type": "string"}, "yMin": {"type": "number"},
        "yMax": {"type": "number"}, "color": {"type": "string"}}
XY = {"type": "object", "additionalProperties": False, "required": ["x", "y"],
      "properties": {"x": NUMBER_OR_TEXT, "y": {"type": "number"}, "color": {"type": "string"}}}
LINE_SERIES = {"type": "object", "additionalProperties": False, "required": ["values"],
               "properties": {"legend": {"type": "string"}, "color": {"type": "string"},
                              "values": {"type": "array", "items": XY, "minItems": 1}}}


def _element(name: str, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": f"Teams chart element {name}",
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "data"],
        "properties": {"type": {"enum": [name]}, **COMMON, **props},
        "allOf": [{"$ref": "#/definitions/Extendable.Element"}],
    }


CHARTS: dict[str, dict[str, Any]] = {
    "Chart.Line": _element("Chart.Line", {**AXES, "data": {"type": "array", "items": LINE_SERIES, "minItems": 1}}),
    "Chart.VerticalBar": _element("Chart.VerticalBar", {
        **AXES, "showBarValues": {"type": "boolean"}, "data": {"type": "array", "items": XY, "minItems": 1}}),
    "Chart.VerticalBar.Grouped": _element("Chart.VerticalBar.Grouped", {
        **AXES, "showBarValues": {"type": "boolean"}, "stacked": {"type": "boolean"},
        "data": {"type": "array", "items": LINE_SERIES, "minItems": 1}}),
    "Chart.Donut": _element("Chart.Donut", {"thickness": {"type": "string"}, "data": {
        "type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False, "required": ["value"],
            "properties": {"legend": {"type": "string"}, "value": {"type": "number"}, "color": {"type": "string"}}}}}),
}


def schema_with_charts() -> dict[str, Any]:
    schema = copy.deepcopy(json.loads(require_schema("adaptive-card-1.5.schema.json").read_text()))
    defs = schema["definitions"]
    for name, definition in CHARTS.items():
        defs[name] = definition
        defs["ImplementationsOf.Element"]["anyOf"].append(
            {"required": ["type"], "allOf": [{"$ref": f"#/definitions/{name}"}]})
    return schema
