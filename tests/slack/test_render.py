"""Block Kit rendering: escaping, mentions, action-id suffixes, limits, modals."""

from __future__ import annotations

import json

import pytest
from slack_sdk.errors import SlackObjectFormationError

from adapters.slack.charts import DataVisualizationBlock
from adapters.slack.inbound import form_fields, normalise_text
from adapters.slack.render import (
    core_action_id,
    escape,
    form_errors,
    render_form,
    render_home,
    render_message,
)
from bot.model.charts import chart
from bot.model.messages import (
    Button,
    Checkbox,
    Choice,
    Fields,
    Footnote,
    Form,
    Heading,
    Link,
    Mention,
    Message,
    Option,
    Paragraph,
    Text,
    TextInput,
    buttons,
    para,
)


def test_user_text_is_escaped_and_cannot_ping() -> None:
    msg = Message(
        text="<!channel> & <@U999>",
        blocks=(para("Sam wrote: <!here> <@U999|x> & <https://evil|click>"), Heading("<!everyone>")),
    )
    out = render_message(msg)
    assert out["text"] == "&lt;!channel&gt; &amp; &lt;@U999&gt;"
    section = out["blocks"][0]["text"]["text"]
    assert "<!" not in section and "<@" not in section and "<http" not in section
    assert section == "Sam wrote: &lt;!here&gt; &lt;@U999|x&gt; &amp; &lt;https://evil|click&gt;"


def test_mentions_links_and_emphasis() -> None:
    spans = (
        Text("Hi "),
        Mention("U0123ABC", "Sam"),
        Text(", read "),
        Link("https://example.com/a|b>c", "this & that"),
        Text(" now ", bold=True),
        Text("please", italic=True),
        Mention("not-an-id", "Kim <3"),
        Link("javascript:alert(1)", "x"),
    )
    text = render_message(Message(text="t", blocks=(Paragraph(spans),)))["blocks"][0]["text"]["text"]
    assert text == (
        "Hi <@U0123ABC>, read <https://example.com/a%7Cb%3Ec|this &amp; that> *now* _please_"
        "Kim &lt;3x (javascript:alert(1))"
    )


def test_action_ids_are_suffixed_and_stripped_back() -> None:
    msg = Message(
        text="t",
        blocks=(
            buttons(Button("checkin.met", "We met", "1", "primary"), Button("checkin.met", "Not yet", "2")),
            Choice("momentum", "Momentum", tuple(Option(str(i), str(i)) for i in range(1, 6))),
        ),
    )
    blocks = render_message(msg)["blocks"]
    ids = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert ids == ["checkin.met#1", "checkin.met#2", *[f"momentum#{i}" for i in range(3, 8)]]
    assert [core_action_id(i) for i in ids] == ["checkin.met"] * 2 + ["momentum"] * 5
    assert core_action_id("plain") == "plain" and core_action_id("a#b#3") == "a#b"
    assert blocks[0]["elements"][0]["style"] == "primary"


def test_block_kit_builder_shape_and_limits() -> None:
    long = "x" * 5000
    msg = Message(
        text=long,
        blocks=(
            Heading("h" * 400),
            para(long),
            Fields(tuple((f"k{i}", "v") for i in range(12))),
            buttons(*(Button(f"b{i}", "L" * 100, "v" * 3000) for i in range(30))),
            Footnote((Text("small print"),)),
            TextInput("note", "Ignored in a message"),
        ),
    )
    out = render_message(msg)
    assert set(out) == {"text", "blocks"}
    json.dumps(out)  # pasteable into Block Kit Builder
    types = [b["type"] for b in out["blocks"]]
    assert types == ["header", "section", "section", "section", "actions", "actions", "context"]
    assert len(out["blocks"][0]["text"]["text"]) == 150
    assert len(out["blocks"][1]["text"]["text"]) == 3000
    assert len(out["blocks"][2]["fields"]) == 10 and len(out["blocks"][3]["fields"]) == 2
    assert len(out["blocks"][4]["elements"]) == 25
    assert len(out["text"]) <= 3000


def test_many_options_become_a_select_and_home_view() -> None:
    choice = Choice("tz", "Time zone", tuple(Option(f"Zone {i}", f"z{i}") for i in range(8)), initial="z3")
    blocks = render_message(Message(text="t", blocks=(choice,)))["blocks"]
    select = blocks[1]["elements"][0]
    assert select["type"] == "static_select" and select["initial_option"]["value"] == "z3"
    home = render_home(Message(text="Home", blocks=(para("Hello"),)))
    assert home["type"] == "home" and home["blocks"][0]["type"] == "section"


def test_form_renders_a_modal_and_submissions_come_back() -> None:
    form = Form(
        "checkin.note",
        "A note for this week (it is long)",
        "Save",
        (
            para("Only you can see this."),
            TextInput("note", "Note", placeholder="What happened?", multiline=True),
            Choice("momentum", "Momentum", tuple(Option(str(i), str(i)) for i in range(1, 6)), initial="3"),
            Checkbox("share", "Share with Kim"),
        ),
        state="prompt=42",
    )
    view = render_form(form, {"channel": "D1", "ts": "1.2"})
    assert view["type"] == "modal" and view["callback_id"] == "momentum_form"
    assert len(view["title"]["text"]) <= 24
    assert json.loads(view["private_metadata"]) == {
        "form_id": "checkin.note",
        "state": "prompt=42",
        "ref": {"channel": "D1", "ts": "1.2"},
    }
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == ["note", "momentum", "share"]
    assert inputs[1]["element"]["type"] == "radio_buttons"
    assert inputs[1]["element"]["initial_option"]["value"] == "3"
    values = {
        "note": {"note": {"type": "plain_text_input", "value": "Met & talked"}},
        "momentum": {"momentum": {"type": "radio_buttons", "selected_option": {"value": "4"}}},
        "share": {"share": {"type": "checkboxes", "selected_options": []}},
    }
    assert form_fields(values) == {"note": "Met & talked", "momentum": "4", "share": "false"}
    assert form_errors(view, {"note": "Too long", "nope": "x"}) == {"note": "Too long"}
    assert form_errors(view, {"nope": "x"}) == {"note": "x"}  # errors must name an input block


def test_incoming_text_is_normalised() -> None:
    assert normalise_text("pair <@U1ABC|sam> <@W22> Pilot") == "pair <@U1ABC> <@W22> Pilot"
    assert normalise_text("import <mailto:a@b.co|a@b.co> &lt;3 &amp; <https://x.y/z|x.y>") == (
        "import a@b.co <3 & https://x.y/z"
    )
    assert normalise_text("hey <!here> in <#C123|general>") == "hey @here in #general"
    assert normalise_text("&lt;@U1&gt;") == "<@U1>"  # typed text: same token, the core decides
    assert escape("a<b>&c") == "a&lt;b&gt;&amp;c"


def test_a_message_rendered_again_is_an_equal_but_independent_copy() -> None:
    from bot.chat.catalog import help_message

    first = render_message(help_message(True))
    first["blocks"][0]["type"] = "tampered"
    first["blocks"].append({"type": "divider"})
    again = render_message(help_message(True))
    assert again["blocks"][0]["type"] != "tampered"
    assert again["blocks"][-1] != {"type": "divider"}
    assert again == render_message(help_message(True))
    assert again != render_message(help_message(False))  # the admin part is not served to others


def _trend(points: int = 12) -> Message:
    weeks = [f"Week {i + 1}" for i in range(points)]
    rates = chart("line", "A program with a longer name: weekly engagement (%)", (
        ("Engagement", [(w, 10 * (i % 10)) for i, w in enumerate(weeks)]),
        ("Check-ins answered, a long series name", [(w, None if i == 2 else 50) for i, w in enumerate(weeks)]),
    ), unit="%")
    score = chart("bar", "Momentum", (("Momentum (1-5)", [(w, 3.25) for w in weeks]),), unit="/5", decimals=1)
    mix = chart("donut", "Answers", (("Answers", (("We met", 6), ("Light touch", 3), ("Not yet", 0))),))
    return Message(text="Program health", blocks=(Heading("Program health"), rates, score, mix))


def test_charts_become_data_visualization_blocks_within_slacks_limits() -> None:
    out = render_message(_trend(points=30))
    json.dumps(out)
    charts = [b for b in out["blocks"] if b["type"] == "data_visualization"]
    assert len(charts) == 2  # Slack shows at most two in a message: the third is its text form
    rates, score = charts
    assert len(rates["title"]) == 50 and rates["title"].endswith("…")
    line = rates["chart"]
    assert line["type"] == "line" and line["axis_config"]["y_label"] == "%"
    names = [s["name"] for s in line["series"]]
    assert names == ["Engagement", "Check-ins answered,…"] and all(len(n) <= 20 for n in names)
    for s in line["series"]:
        assert 1 <= len(s["data"]) <= 20  # the last 20 weeks
        assert {p["label"] for p in s["data"]} <= set(line["axis_config"]["categories"])
    assert line["series"][0]["data"][-1] == {"label": "Week 30", "value": 90}
    assert score["chart"]["type"] == "bar" and score["chart"]["series"][0]["data"][0]["value"] == 3.2
    donut = out["blocks"][-1]
    assert donut["type"] == "section" and donut["text"]["text"].startswith("*Answers*")
    assert "We met 6 (67%) · Light touch 3 (33%)" in donut["text"]["text"]


def test_a_donut_is_a_pie_and_charts_can_be_text_only() -> None:
    mix = chart("donut", "Answers", (("Answers", (("We met", 6), ("Light touch", 3), ("Not yet", 0))),))
    pie = render_message(Message(text="t", blocks=(mix,)))["blocks"][0]
    assert pie["chart"] == {"type": "pie", "segments": [{"label": "We met", "value": 6},
                                                        {"label": "Light touch", "value": 3}]}
    text_only = render_message(_trend(), charts=False)["blocks"]
    assert not [b for b in text_only if b["type"] == "data_visualization"]
    trend = text_only[1]["text"]["text"]
    assert trend.startswith("*A program with a longer name: weekly engagement (%)*\n```")
    assert "Engagement                              ▁▂▃▃▄▅▆▆▇█▁▂  10%  ↑10" in trend  # one bar a week, scaled
    assert "Check-ins answered, a long series name  ▄▄·▄▄▄▄▄▄▄▄▄  50%  →" in trend
    home = render_home(_trend())
    assert not [b for b in home["blocks"] if b["type"] == "data_visualization"]


def test_the_block_checks_slacks_documented_limits() -> None:
    ok = {"type": "line", "series": [{"name": "A", "data": [{"label": "x", "value": 1}]}],
          "axis_config": {"categories": ["x"]}}
    assert DataVisualizationBlock(title="T", chart=ok).to_dict()["type"] == "data_visualization"
    bad = [
        ("t" * 51, ok),
        ("T", {**ok, "type": "scatter"}),
        ("T", {**ok, "series": []}),
        ("T", {**ok, "series": [{"name": "A", "data": [{"label": "x", "value": 1}]}] * 2}),  # names repeat
        ("T", {**ok, "series": [{"name": "n" * 21, "data": [{"label": "x", "value": 1}]}]}),
        ("T", {**ok, "series": [{"name": "A", "data": [{"label": "y", "value": 1}]}]}),  # not a category
        ("T", {**ok, "series": [{"name": "A", "data": [{"label": "x", "value": 1}] * 21}]}),
        ("T", {**ok, "series": [{"name": f"S{i}", "data": [{"label": "x", "value": 1}]} for i in range(7)]}),
        ("T", {**ok, "axis_config": {"categories": ["x"], "y_label": "y" * 51}}),
        ("T", {"type": "pie", "segments": [{"label": "a", "value": 0}]}),
        ("T", {"type": "pie", "segments": [{"label": "a", "value": 1}] * 7}),
        ("T", {"type": "pie", "segments": [{"label": "l" * 21, "value": 1}]}),
    ]
    for title, body in bad:
        with pytest.raises(SlackObjectFormationError):
            DataVisualizationBlock(title=title, chart=body).to_dict()
