"""Altair charts for the Evaluate and Playground pages; data in, chart out, no Streamlit calls."""
from __future__ import annotations

import altair as alt
import pandas as pd

CONFUSION_SELECTION = "cell"
CELL_PIXELS = 24
# Many classes get smaller cells, down to this, so the matrix keeps to the space it is given.
MIN_CELL_PIXELS = 15
GRID_PIXELS = 480  # room for 20 classes at full size
CELL_FONT = 11
SMALL_CELL_FONT = 9
BAR_HEIGHT = 28
CHART_BLUE = "#3b6fd8"
PALE_BLUE = "#b9c6e4"
WRONG_RED = "#d0453b"
INK = "#1d2433"
CONFIDENCE_HEIGHT = 140
PROTOCOL_BAR_STEP = 40
# Cells beyond this share of their color's range are dark enough that white text reads better.
DARK_CELL_SHARE = 0.5


def top_k_chart(top: list[tuple[str, float]]) -> alt.Chart:
    """Horizontal probability bars for a letter's most likely labels, best on top and highlighted."""
    df = pd.DataFrame({"letter": [t[0] for t in top], "probability": [t[1] for t in top]})
    df["best"] = [i == 0 for i in range(len(df))]
    base = alt.Chart(df).encode(
        y=alt.Y("letter:N", sort=df["letter"].tolist(), title=None,
                axis=alt.Axis(labelFontSize=16, labelFontWeight="bold", labelOverlap=False)),
        x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", title=None)),
        tooltip=["letter", alt.Tooltip("probability:Q", format=".1%")],
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        color=alt.condition("datum.best", alt.value(CHART_BLUE), alt.value(PALE_BLUE))
    )
    text = base.mark_text(align="left", dx=4).encode(text=alt.Text("probability:Q", format=".0%"))
    return (bars + text).properties(height=BAR_HEIGHT * len(df) + 10)


def character_confidence_chart(letters: list[str], confidences: list[float], colors: list[str]) -> alt.Chart:
    """One bar per character read, in reading order, as tall as the model is sure of it, in the colour its
    character is shown in above."""
    slots = [f"{i}: {ch}" for i, ch in enumerate(letters, 1)]
    df = pd.DataFrame({"slot": slots, "letter": letters, "confidence": confidences})
    base = alt.Chart(df).encode(
        x=alt.X("slot:N", sort=slots, title=None,
                axis=alt.Axis(labelExpr="split(datum.value, ': ')[1]", labelAngle=0, labelFontSize=16,
                              labelFontWeight="bold")),
        y=alt.Y("confidence:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", title=None, tickCount=3)),
        tooltip=["letter", alt.Tooltip("confidence:Q", format=".1%")],
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        color=alt.Color("slot:N", sort=slots, scale=alt.Scale(domain=slots, range=colors), legend=None)
    )
    text = base.mark_text(baseline="bottom", dy=-2).encode(text=alt.Text("confidence:Q", format=".0%"))
    return (bars + text).properties(height=CONFIDENCE_HEIGHT)


def confusion_cell(labels: list[str], side_pixels: int) -> int:
    """The cell size that fits len(labels) cells into side_pixels, between MIN_CELL_PIXELS and CELL_PIXELS."""
    return max(MIN_CELL_PIXELS, min(CELL_PIXELS, side_pixels // max(len(labels), 1)))


def confusion_chart(pairs: list[dict], labels: list[str], side_pixels: int = GRID_PIXELS) -> alt.Chart:
    """A clickable confusion-matrix heatmap: right answers in blue, mistakes in red, both darker when more.

    side_pixels: the room for the grid of cells; many classes get smaller cells (see confusion_cell).
    """
    df = pd.DataFrame(pairs)
    right = df["true"] == df["pred"]
    # One signed field on a diverging scale keeps a single clickable layer: + right answers, - mistakes.
    df["signed"] = df["count"].where(right, -df["count"])
    most_right = max(int(df.loc[right, "count"].max()), 1)
    most_wrong = max(int(df.loc[~right, "count"].max()), 1)
    df["dark"] = (df["signed"] > most_right * DARK_CELL_SHARE) | (df["signed"] < -most_wrong * DARK_CELL_SHARE)
    select = alt.selection_point(name=CONFUSION_SELECTION, fields=["true", "pred"], on="click", clear="dblclick")
    cell = confusion_cell(labels, side_pixels)
    side = cell * len(labels)
    font = CELL_FONT if cell == CELL_PIXELS else SMALL_CELL_FONT
    base = alt.Chart(df).encode(
        x=alt.X("pred:N", sort=labels, title="read as",
                axis=alt.Axis(orient="top", labelAngle=0, labelFontSize=13, labelOverlap=False, labelFlush=False)),
        # Not flush: Streamlit's theme pushed the first row's label down against its neighbour, off its row.
        y=alt.Y("true:N", sort=labels, title="true letter",
                axis=alt.Axis(labelFontSize=13, labelOverlap=False, labelFlush=False)),
    )
    cells = (
        base.mark_rect(stroke="#ffffff", strokeWidth=1, cursor="pointer")
        .encode(
            color=alt.Color("signed:Q", legend=None,
                            scale=alt.Scale(scheme="redblue", domain=[-most_wrong, most_right], domainMid=0)),
            opacity=alt.condition(select, alt.value(1.0), alt.value(0.3)),
            tooltip=["true", alt.Tooltip("pred", title="read as"), "count"],
        )
        .add_params(select)
    )
    # Empty cells stay blank: a grid of zeros hides the few numbers that matter.
    counts = base.transform_filter("datum.count > 0").mark_text(fontSize=font, cursor="pointer").encode(
        text="count:Q",
        color=alt.condition("datum.dark", alt.value("#ffffff"), alt.value(INK)),
    )
    return (cells + counts).properties(width=side, height=side)


def protocol_chart(honest: float, leaky: float) -> alt.Chart:
    """Two bars: the honest test accuracy and the seed's inflated one."""
    df = pd.DataFrame({"protocol": ["honest", "leaky (blog)"], "accuracy": [honest, leaky]})
    base = alt.Chart(df).encode(
        y=alt.Y("protocol:N", title=None, sort=None, axis=alt.Axis(labelFontSize=13)),
        x=alt.X("accuracy:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title="test letter accuracy"),
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        color=alt.Color("protocol:N", scale=alt.Scale(range=[CHART_BLUE, WRONG_RED]), legend=None)
    )
    text = base.mark_text(align="left", dx=4, fontSize=13).encode(text=alt.Text("accuracy:Q", format=".1%"))
    return (bars + text).properties(height=alt.Step(PROTOCOL_BAR_STEP))
