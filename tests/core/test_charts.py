"""Server-drawn SVG bar charts: one bar per label and series, scaled to nice ticks, labelled for screen readers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from core.charts import Series, bar_chart, nice_ticks, thousands

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def bars(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if "bar" in r.get("class", "").split()]


@pytest.mark.parametrize(
    ("top", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (75_600, [0, 20_000, 40_000, 60_000, 80_000]),
        (1_000_000, [0, 500_000, 1_000_000]),
    ],
)
def test_ticks_are_round_steps_from_zero_past_the_top(top, ticks):
    assert nice_ticks(top) == ticks


def test_fractional_values_get_fractional_ticks():
    assert nice_ticks(0.7, whole=False) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8])
    assert nice_ticks(0.9, whole=False) == pytest.approx([0, 0.5, 1.0])


@pytest.mark.parametrize(
    ("value", "text"), [(0, "0"), (1_500_000, "1.500.000"), (2.5, "2,5"), (1234.0, "1.234"), (-5000, "-5.000")]
)
def test_numbers_are_written_the_indonesian_way(value, text):
    assert thousands(value) == text


def test_a_grouped_chart_has_a_bar_per_label_and_series_each_with_its_number():
    root = parse(
        bar_chart(
            ["Jan", "Feb", "Mar"],
            [Series("Tunai", [10, 20, 0]), Series("Autodebet", [5, 0, 40], "#123456")],
            title="Iuran",
        )
    )
    drawn = bars(root)

    assert len(drawn) == 6
    assert [r.find(f"{SVG}title").text for r in drawn] == [
        "Jan · Tunai: 10",
        "Jan · Autodebet: 5",
        "Feb · Tunai: 20",
        "Feb · Autodebet: 0",
        "Mar · Tunai: 0",
        "Mar · Autodebet: 40",
    ]
    assert {r.get("fill") for r in drawn if "series-1" in r.get("class")} == {"#123456"}
    heights = [float(r.get("height")) for r in drawn]
    assert heights[5] == max(heights) and heights[3] == heights[4] == 0
    assert heights[2] == pytest.approx(heights[5] / 2)  # 20 against 40, on the same axis


def test_a_stacked_chart_puts_each_series_on_the_one_below():
    root = parse(bar_chart(["a", "b"], [Series("x", [3, 1]), Series("y", [1, 0])], title="t", stacked=True))
    x_a, y_a, x_b, _ = bars(root)

    assert x_a.get("x") == y_a.get("x")  # one column
    assert float(y_a.get("y")) + float(y_a.get("height")) == pytest.approx(float(x_a.get("y")))  # y sits on x
    assert float(x_a.get("height")) == pytest.approx(3 * float(x_b.get("height")))
    assert max(float(t.text.replace(".", "")) for t in root.iter(f"{SVG}text") if t.text and t.text[0].isdigit()) == 4


def test_the_chart_is_labelled_for_screen_readers_and_escapes_its_text():
    markup = str(bar_chart(["<b>&"], [Series("s<", [1])], title='Judul "x" <script>', description="Satu batang."))
    root = parse(markup)
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")

    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == 'Judul "x" <script>' and desc.text == "Satu batang."
    assert "<script>" not in markup and "<b>" not in markup
    assert bars(root)[0].find(f"{SVG}title").text == "<b>&: 1"


def test_without_a_description_the_chart_describes_its_largest_bars():
    root = parse(bar_chart(["a", "b"], [Series("Kas", [2, 9])], title="t"))

    assert root.find(f"{SVG}desc").text == "2 bars. Kas: highest 9 (b)."


def test_two_charts_on_a_page_have_different_ids():
    first = parse(bar_chart(["a"], [Series("s", [1])], title="Satu"))
    second = parse(bar_chart(["a"], [Series("s", [1])], title="Dua"))

    assert first.find(f"{SVG}title").get("id") != second.find(f"{SVG}title").get("id")


def test_labels_that_do_not_fit_are_thinned_but_every_bar_is_drawn():
    labels = [f"{d:02d}/11" for d in range(1, 31)]
    markup = str(bar_chart(labels, [Series("s", list(range(30)))], title="t", width=400))

    shown = [label for label in labels if f">{label}</text>" in markup]
    assert len(bars(parse(markup))) == 30
    assert 1 < len(shown) < 30 and shown[0] == "01/11"
    every = str(bar_chart(labels, [Series("s", list(range(30)))], title="t", width=400, label_every=1))
    assert all(f">{label}</text>" in every for label in labels)


def test_a_legend_only_when_there_is_more_than_one_series():
    one = str(bar_chart(["a"], [Series("s", [1])], title="t"))
    two = str(bar_chart(["a"], [Series("s", [1]), Series("u", [2])], title="t"))

    assert 'class="legend"' not in one
    assert 'class="legend"' in two and ">u</text>" in two


def test_all_zero_values_draw_flat_bars_on_an_axis_from_0_to_1():
    markup = str(bar_chart(["a", "b"], [Series("s", [0, 0])], title="t"))

    assert [float(r.get("height")) for r in bars(parse(markup))] == [0, 0]
    assert re.findall(r'text-anchor="end">(\d+)</text>', markup) == ["0", "1"]


@pytest.mark.parametrize(
    ("labels", "series", "message"),
    [
        (["a", "b"], [Series("s", [1])], "1 values for 2 labels"),
        (["a"], [Series("s", [-1])], "negative"),
        (["a"], [], "at least one series"),
    ],
)
def test_data_a_bar_chart_cannot_show_is_refused(labels, series, message):
    with pytest.raises(ValueError, match=message):
        bar_chart(labels, series, title="t")
