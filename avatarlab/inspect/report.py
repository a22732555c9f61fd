"""The inspection as a picture: one time axis, four panels, and frames at chosen sounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..measure import CLOSED_GAP, bilabials_and_open_vowels
from ..types import Phone
from .figures import blink_spans
from .measures import VideoMeasures

PANELS = ("audio", "lip gap", "eyes", "head")


def draw_report(
    measures: VideoMeasures,
    phones: list[Phone],
    figures: dict,
    sheet: list[tuple[str, np.ndarray]],
    out: Path,
) -> None:
    """Write the report PNG."""
    figure = report_figure(measures, phones, figures, sheet)
    figure.savefig(out, bbox_inches="tight", format="png")


def report_figure(
    measures: VideoMeasures, phones: list[Phone], figures: dict, sheet: list[tuple[str, np.ndarray]]
):
    """The report as a matplotlib Figure; each panel's axes is titled with its name."""
    from matplotlib.figure import Figure

    rows = len(PANELS) + (1 if sheet else 0)
    heights = [1.2, 1.4, 1.0, 1.0] + ([1.6] if sheet else [])
    fig = Figure(figsize=(14, 2.2 * sum(heights) / 1.2), dpi=100)
    grid = fig.add_gridspec(rows, 1, height_ratios=heights, hspace=0.55)
    axes = [fig.add_subplot(grid[i]) for i in range(len(PANELS))]
    for ax in axes[1:]:
        ax.sharex(axes[0])
    _audio(axes[0], measures, phones)
    _lips(axes[1], measures, phones)
    _eyes(axes[2], measures)
    _head(axes[3], measures)
    axes[-1].set_xlabel("seconds")
    if sheet:
        _contact_sheet(fig, grid[len(PANELS)], sheet)
    fig.suptitle(_headline(measures, figures), fontsize=11, x=0.01, ha="left")
    return fig


def _headline(measures: VideoMeasures, figures: dict) -> str:
    parts = [measures.path.name]
    for key, label, unit in (
        ("bilabial_closure_rate", "p/b/m closed", "%"),
        ("open_closed_ratio", "open/closed", "×"),
        ("lag_ms", "mouth lag", " ms"),
        ("blinks_per_minute", "blinks", "/min"),
    ):
        value = figures.get(key)
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        shown = value * 100 if unit == "%" else value
        parts.append(f"{label} {shown:.0f}{unit}" if unit != "×" else f"{label} {shown:.1f}{unit}")
    return "   ·   ".join(parts)


def _audio(ax, measures: VideoMeasures, phones: list[Phone]) -> None:
    ax.set_title("audio", loc="left", fontsize=9)
    if measures.sample_rate:
        step = max(1, len(measures.audio) // 20000)
        t = np.arange(0, len(measures.audio), step) / measures.sample_rate
        ax.plot(t, measures.audio[::step], color="#607080", linewidth=0.5)
    for phone in phones:
        ax.text(
            phone.middle,
            0.85,
            phone.symbol,
            fontsize=6,
            ha="center",
            transform=ax.get_xaxis_transform(),
        )
    ax.set_yticks([])


def _lips(ax, measures: VideoMeasures, phones: list[Phone]) -> None:
    ax.set_title("lip gap", loc="left", fontsize=9)
    ax.set_ylabel("eye distances", fontsize=7)
    ax.plot(measures.times, measures.lip_gap, color="#303030", linewidth=1)
    ax.axhline(CLOSED_GAP, color="#999999", linestyle=":", linewidth=0.8)
    bilabials, vowels = bilabials_and_open_vowels(phones)
    for phone in bilabials:
        index = int(phone.middle * measures.fps)
        if 0 <= index < measures.n_frames:
            gap = measures.lip_gap[index]
            closed = bool(gap < CLOSED_GAP)
            ax.plot(phone.middle, gap, "o", color="#2a9d4a" if closed else "#d03030", markersize=5)
    for phone in vowels:
        ax.axvspan(phone.start, phone.end, color="#f0c040", alpha=0.15, linewidth=0)


def _eyes(ax, measures: VideoMeasures) -> None:
    ax.set_title("eyes", loc="left", fontsize=9)
    ax.set_ylabel("openness", fontsize=7)
    ax.plot(measures.times, measures.eyes_open[:, 0], linewidth=0.9, label="left")
    ax.plot(measures.times, measures.eyes_open[:, 1], linewidth=0.9, label="right")
    for start, end in blink_spans(measures):
        ax.axvspan(start, end, color="#4060d0", alpha=0.2, linewidth=0)
    ax.legend(fontsize=7, loc="upper right")


def _head(ax, measures: VideoMeasures) -> None:
    ax.set_title("head", loc="left", fontsize=9)
    ax.set_ylabel("degrees", fontsize=7)
    first = np.nanmedian(measures.angles[: max(1, int(measures.fps))], axis=0)
    for i, name in enumerate(("yaw", "pitch", "roll")):
        ax.plot(measures.times, measures.angles[:, i] - first[i], linewidth=0.9, label=name)
    ax.legend(fontsize=7, loc="upper right")


def _contact_sheet(fig, cell, sheet: list[tuple[str, np.ndarray]]) -> None:
    inner = cell.subgridspec(1, len(sheet), wspace=0.05)
    for i, (label, image) in enumerate(sheet):
        ax = fig.add_subplot(inner[i])
        ax.imshow(image)
        ax.set_title(label, fontsize=8)
        ax.axis("off")
