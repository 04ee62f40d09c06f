"""The mood chart: average score per day as a line, messages per day as bars, in a PNG."""

from __future__ import annotations

import io
from datetime import date

import matplotlib

matplotlib.use("Agg")  # no display: render to memory only

from matplotlib import dates as mdates
from matplotlib.figure import Figure

from workers.sentiment.scores import Day

_LABELS = {
    "en": {"mood": "average mood (−1 to 1)", "messages": "messages"},
    "es": {"mood": "ánimo medio (−1 a 1)", "messages": "mensajes"},
}


def render(days: list[Day], title: str, lang: str = "en") -> bytes:
    """A PNG of the mood over `days` (which must not be empty)."""
    labels = _LABELS.get(lang, _LABELS["en"])
    # A Figure without pyplot: no global state, safe in a long-lived worker.
    figure = Figure(figsize=(8, 3.6), dpi=100)
    mood = figure.add_subplot()
    volume = mood.twinx()
    # Matplotlib plots dates as numbers of days: convert once, label the axis as dates.
    when = [mdates.date2num(date.fromisoformat(d.day)) for d in days]
    volume.bar(when, [d.messages for d in days], color="#d9dde3", width=0.8, zorder=1)
    volume.set_ylabel(labels["messages"], color="#6b7280")
    mood.set_zorder(volume.get_zorder() + 1)
    mood.patch.set_visible(False)
    mood.axhline(0, color="#9ca3af", linewidth=0.8)
    mood.axhspan(0.05, 1, color="#dcfce7", alpha=0.5, zorder=0)
    mood.axhspan(-1, -0.05, color="#fee2e2", alpha=0.5, zorder=0)
    mood.plot(when, [d.average for d in days], marker="o", color="#1d4ed8", linewidth=2)
    mood.set_ylim(-1, 1)
    mood.set_ylabel(labels["mood"])
    mood.set_title(title)
    mood.xaxis_date()
    figure.autofmt_xdate()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
