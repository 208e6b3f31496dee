"""The finance report's charts: matplotlib figures as PNG ``data:`` URIs.

Drawn with matplotlib's object API on the Agg canvas (no pyplot, no global state, no
display needed). Every chart renders, even with nothing to draw (it says so), so the
report always has its sections. Money on the axes is in major units.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from domain.normalise.codes import minor_exponent

WIDTH, HEIGHT, DPI = 9.0, 3.2, 96
COLOURS = ("#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#30638e")
STAGE_NONE = "none"


def data_uri(figure: Figure) -> str:
    """The figure as a base64 PNG ``data:`` URI."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(title: str) -> tuple[Figure, object]:
    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=11, loc="left")
    axes.grid(alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def _empty(axes: object, message: str) -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes)  # type: ignore[attr-defined]
    axes.set_xticks([])  # type: ignore[attr-defined]
    axes.set_yticks([])  # type: ignore[attr-defined]


def major(values: pd.Series | np.ndarray, currency: str) -> np.ndarray:
    return np.asarray(values, dtype="float64") / 10 ** minor_exponent(currency)


def lines(
    title: str, days: Sequence[date], series: dict[str, Sequence[float]], unit: str = ""
) -> str:
    """One line per series over ``days`` (NaN leaves a gap)."""
    figure, axes = _figure(title)
    if not len(days):
        _empty(axes, "no data yet")
        return data_uri(figure)
    for colour, (label, values) in zip(COLOURS, series.items(), strict=False):
        axes.plot(list(days), np.asarray(values, dtype="float64"), label=label, color=colour)
    axes.set_ylabel(unit)
    axes.legend(fontsize=8, loc="upper left", frameon=False)
    figure.autofmt_xdate()
    return data_uri(figure)


def mrr(kpis: pd.DataFrame, currency: str) -> str:
    """MRR over time, in major units."""
    return lines(
        f"MRR ({currency})",
        list(kpis["as_of"]),
        {"MRR": major(kpis["mrr"], currency)},
        currency,
    )


def movements(kpis: pd.DataFrame, currency: str) -> str:
    """MRR movements per month: gains above the axis, losses below."""
    figure, axes = _figure(f"MRR movements per month ({currency})")
    if kpis.empty:
        _empty(axes, "no data yet")
        return data_uri(figure)
    month = pd.to_datetime(kpis["period_start"].astype(str)).dt.strftime("%Y-%m")
    sums = kpis.groupby(month)[
        ["mrr_new", "mrr_expansion", "mrr_reactivation", "mrr_contraction", "mrr_churned"]
    ].sum()
    x = np.arange(len(sums))
    bottom = np.zeros(len(sums))
    for colour, name in zip(
        COLOURS, ("mrr_new", "mrr_expansion", "mrr_reactivation"), strict=False
    ):
        values = major(sums[name], currency)
        axes.bar(x, values, bottom=bottom, color=colour, label=name.removeprefix("mrr_"))
        bottom += values
    bottom = np.zeros(len(sums))
    for colour, name in zip(COLOURS[3:], ("mrr_contraction", "mrr_churned"), strict=False):
        values = -major(sums[name], currency)
        axes.bar(x, values, bottom=bottom, color=colour, label=name.removeprefix("mrr_"))
        bottom += values
    axes.set_xticks(x, list(sums.index), rotation=45, ha="right", fontsize=8)
    axes.set_ylabel(currency)
    axes.legend(fontsize=8, ncols=5, loc="upper left", frameon=False)
    return data_uri(figure)


def bars(title: str, labels: Sequence[str], values: Sequence[float], unit: str) -> str:
    figure, axes = _figure(title)
    if not len(labels):
        _empty(axes, "nothing to show")
        return data_uri(figure)
    axes.bar(list(labels), list(values), color=COLOURS[: len(labels)])
    axes.set_ylabel(unit)
    return data_uri(figure)


def stacked(
    title: str, index: Sequence[str], columns: dict[str, Sequence[float]], unit: str
) -> str:
    """Stacked bars, one stack per ``index`` entry, one colour per column."""
    figure, axes = _figure(title)
    if not len(index):
        _empty(axes, "nothing to show")
        return data_uri(figure)
    x = np.arange(len(index))
    bottom = np.zeros(len(index))
    for colour, (label, values) in zip(COLOURS, columns.items(), strict=False):
        heights = np.asarray(values, dtype="float64")
        axes.bar(x, heights, bottom=bottom, color=colour, label=label)
        bottom += heights
    step = max(1, len(index) // 20)
    axes.set_xticks(x[::step], list(index)[::step], rotation=45, ha="right", fontsize=8)
    axes.set_ylabel(unit)
    axes.legend(fontsize=8, ncols=3, loc="upper left", frameon=False)
    return data_uri(figure)
