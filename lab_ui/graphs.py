"""Altair graphs for the Data, Train and Home pages: class histograms and training curves."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

BEFORE_COLOUR = "#9aa5b8"
AFTER_COLOUR = "#3b6fd8"
TARGET_COLOUR = "#d9534f"
# The resampling target's dashed line: one pixel wide, it vanished against the bars' tops.
TARGET_WIDTH = 2.5
SPLIT_COLOURS = {"training": "#3b6fd8", "validation": "#e8833a"}
HISTOGRAM_HEIGHT = 220
# The whole chart's height: Streamlit fits title, axes and legend into it, so 220 left a plot of about 95 px, and
# 300 with the legend above the plot about 130 px.
CURVE_HEIGHT = 340
# Axis and legend text big and dark enough for the back of a classroom: Streamlit's own theme draws about 10 px grey.
READABLE_FONT = 13
READABLE_INK = "#31333f"
# Pixels between a chart's title and what follows, and between a legend and the plot.
TITLE_OFFSET = 4
LEGEND_OFFSET = 8
# Keras names the validation twin of every metric "val_<metric>".
VALIDATION_PREFIX = "val_"


def readable(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The chart with its axis and legend text sized for a projector."""
    # Labels centred on their ticks: flushed in from the ends, "100%" sat below the points drawn at 100%.
    # Streamlit's theme leaves about 60 px of blank between a title, a legend above the plot and the plot; these
    # offsets give that height back to the plot.
    return chart.configure_axis(
        labelFontSize=READABLE_FONT, titleFontSize=READABLE_FONT, labelColor=READABLE_INK, titleColor=READABLE_INK,
        labelFlush=False,
    ).configure_legend(
        labelFontSize=READABLE_FONT, labelColor=READABLE_INK, padding=0, offset=LEGEND_OFFSET,
    ).configure_title(offset=TITLE_OFFSET)


@st.cache_data(max_entries=32, show_spinner=False)
def counts_frame(counts: dict[str, int]) -> pd.DataFrame:
    """Class counts as a two-column frame, in label order."""
    return pd.DataFrame({"class": list(counts), "letters": list(counts.values())})


# Beyond this many classes the histogram's labels get a smaller font, so every one still fits.
MANY_CLASSES = 24
SMALL_LABEL_FONT = 9


@st.cache_data(max_entries=32, show_spinner=False)
def class_histogram(counts: dict[str, int], title: str, subtitle: str, y_max: int, colour: str,
                    target: int | None = None) -> alt.Chart:
    """Bars of letters per class on a fixed y range, so two histograms side by side compare honestly. Give both the
    same number of subtitle lines, so that their plots line up."""
    frame = counts_frame(counts)
    # Rounded up to a tick, so the tallest bar has a number above it; both histograms get the same round top.
    scale = alt.Scale(domain=[0, max(y_max, 1)], nice=True)
    # Every class named, even 36 of them: a histogram with every other label hides which class is rare.
    axis = alt.Axis(labelAngle=0, labelOverlap=False, labelFontSize=SMALL_LABEL_FONT if len(counts) > MANY_CLASSES else alt.Undefined)
    bars = (
        alt.Chart(frame, height=HISTOGRAM_HEIGHT)
        .mark_bar(color=colour)
        .encode(
            x=alt.X("class:N", sort=None, title=None, axis=axis),
            y=alt.Y("letters:Q", scale=scale, title="letters"),
            tooltip=["class", "letters"],
        )
    )
    layers = [bars]
    if target is not None:
        layers.append(alt.Chart(pd.DataFrame({"target": [target]})).mark_rule(
            color=TARGET_COLOUR, strokeDash=[6, 3], strokeWidth=TARGET_WIDTH).encode(y="target:Q"))
    # A layer of its own even alone, and as wide as its column: a layered chart otherwise takes the width of its
    # bars' steps, and the resampled one came out half as wide as the other, its class names run together.
    # The title is short and the rest goes below it: at 1024 px a long one was cut off.
    chart = alt.layer(*layers, title=alt.TitleParams(title, subtitle=subtitle, anchor="start"))
    return readable(chart.properties(width="container"))


@st.cache_data(max_entries=32, show_spinner=False)
def history_frame(history: dict[str, list[float]]) -> pd.DataFrame:
    """Per-epoch metrics in long form: epoch, metric (loss | accuracy), split (training | validation), value."""
    rows = []
    for key, values in history.items():
        split = "validation" if key.startswith(VALIDATION_PREFIX) else "training"
        metric = key.removeprefix(VALIDATION_PREFIX)
        rows += [{"epoch": i + 1, "metric": metric, "split": split, "value": v} for i, v in enumerate(values)]
    return pd.DataFrame(rows, columns=["epoch", "metric", "split", "value"])


@st.cache_data(max_entries=32, show_spinner=False)
def curve(history: dict[str, list[float]], metric: str) -> alt.Chart | None:
    """Train and validation curves of one metric over the epochs, or None before the first epoch ends."""
    frame = history_frame(history)
    frame = frame[frame["metric"] == metric]
    if frame.empty:
        return None
    colours = alt.Scale(domain=list(SPLIT_COLOURS), range=list(SPLIT_COLOURS.values()))
    # Accuracy on its whole 0-100% range: a flat run (a sequence model that never read a captcha) would otherwise
    # get an axis of its one value.
    y_scale = alt.Scale(domain=[0, 1]) if metric == "accuracy" else alt.Scale(zero=True)
    y_axis = alt.Axis(format=".0%") if metric == "accuracy" else alt.Axis()
    return readable(
        alt.Chart(frame, title=metric, height=CURVE_HEIGHT)
        .mark_line(point=True)
        .encode(
            x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1, format="d"), scale=alt.Scale(domainMin=1)),
            y=alt.Y("value:Q", title=metric, scale=y_scale, axis=y_axis),
            # Above the plot, which then gets the column's whole width instead of sharing it with the legend.
            color=alt.Color("split:N", scale=colours, legend=alt.Legend(title=None, orient="top")),
            tooltip=["epoch", "split", alt.Tooltip("value:Q", format=".3f")],
        )
    )


def starts_above_training(history: dict[str, list[float]]) -> bool:
    """Whether validation accuracy starts above training accuracy, which looks wrong to anyone new to the curves."""
    train, validation = history.get("accuracy") or [], history.get("val_accuracy") or []
    return bool(train and validation) and validation[0] > train[0]


def training_curves(history: dict[str, list[float]]) -> None:
    """Accuracy and loss per epoch, training against validation, side by side (Train while it runs, Evaluate after)."""
    columns = st.columns(2, gap="large")
    for column, metric in zip(columns, ("accuracy", "loss")):
        chart = curve(history, metric)
        if chart is not None:
            column.altair_chart(chart, width="stretch", height=CURVE_HEIGHT)
    if starts_above_training(history):
        st.caption("Validation starts above training because each training point is an average over its epoch, "
                   "most of it taken while the model was still learning; validation is measured once, at the "
                   "epoch's end.")
