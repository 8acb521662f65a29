"""The bulletin's chart: per unit, on-time closings of the period and overdue assignments.

Drawn with matplotlib's Agg backend on a private Figure (no pyplot global state), with a
CJK font found by `reports.fonts`, so every Chinese label renders as text, not boxes.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ledger.bulletins import Bulletin
from reports.fonts import CjkFont, cjk_font

GREEN = "#2e7d32"
GREY = "#9e9e9e"
RED = "#c62828"


def bulletin_chart_png(b: Bulletin, font: CjkFont | None = None, dpi: int = 120) -> bytes:
    """A PNG: for each unit, closed in the period (of which on time) and overdue now."""
    font = font or cjk_font()
    rows = list(b.units)
    kids = list(b.children)
    with matplotlib.rc_context({"font.family": [font.family, "DejaVu Sans"],
                                "axes.unicode_minus": False}):
        height = max(3.2, 1.6 + 0.42 * len(rows))
        below = 1.8 + 0.42 * len(kids) if kids else 0.0
        fig = Figure(figsize=(8.0, height + below), dpi=dpi)
        FigureCanvasAgg(fig)
        if kids:
            grid = fig.add_gridspec(2, 1, height_ratios=(height, below))
            ax = fig.add_subplot(grid[0])
            _children_panel(fig.add_subplot(grid[1]), b)
        else:
            ax = fig.add_subplot()
        ax.set_title(f"{b.info.label}{b.issue}　各单位按时办结与超期情况\n"
                     f"（{b.period.label}）", fontsize=12, pad=26 if rows else 6)
        if not rows:
            ax.text(0.5, 0.5, "本期无承办单位数据", ha="center", va="center", fontsize=12,
                    transform=ax.transAxes)
            ax.set_axis_off()
        else:
            labels = [f"{r.unit}（按时率{r.on_time_text}）" for r in rows]
            ys = list(range(len(rows)))[::-1]
            h = 0.27
            closed = [r.closed for r in rows]
            ontime = [r.closed_on_time for r in rows]
            overdue = [r.overdue for r in rows]
            ax.barh([y + h for y in ys], closed, height=h, color=GREY, label="本期办结")
            ax.barh(ys, ontime, height=h, color=GREEN, label="其中按时办结")
            ax.barh([y - h for y in ys], overdue, height=h, color=RED, label="当前超期")
            top = max([*closed, *overdue, 1])
            for y, values in ((ys, ontime), ([y - h for y in ys], overdue),
                              ([y + h for y in ys], closed)):
                for yy, v in zip(y, values, strict=True):
                    if v:
                        ax.text(v + top * 0.01, yy, str(v), va="center", fontsize=8)
            ax.set_yticks(ys, labels, fontsize=9)
            ax.set_ylim(-0.6, len(rows) - 0.4)
            ax.set_xlabel("件数")
            ax.set_xlim(0, top * 1.12 + 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=9,
                      frameon=False)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        fig.text(0.99, 0.01, f"{b.office_name}　{b.issued_on.year}年{b.issued_on.month}月"
                 f"{b.issued_on.day}日", ha="right", va="bottom", fontsize=8, color="#555555")
        fig.tight_layout(rect=(0, 0.03, 1, 1))
        out = io.BytesIO()
        fig.savefig(out, format="png")
    return out.getvalue()


def _children_panel(ax: Axes, b: Bulletin) -> None:
    """Per child office (issue 16): open now, of which overdue, and closed in the period,
    as its parent's /list 下级 counts them."""
    kids = list(b.children)
    ys = list(range(len(kids)))[::-1]
    h = 0.27
    series = (([y + h for y in ys], [c.figures.open for c in kids], GREY, "在办"),
              (ys, [c.figures.overdue for c in kids], RED, "其中超期"),
              ([y - h for y in ys], [c.figures.closed for c in kids], GREEN, "本期销号"))
    top = max([v for _, values, _, _ in series for v in values] + [1])
    for y, values, color, label in series:
        ax.barh(y, values, height=h, color=color, label=label)
        for yy, v in zip(y, values, strict=True):
            if v:
                ax.text(v + top * 0.01, yy, str(v), va="center", fontsize=8)
    ax.set_title("下级督查室台账情况", fontsize=11, pad=22)
    ax.set_yticks(ys, [f"{c.office}（红灯{c.figures.red}）" for c in kids], fontsize=9)
    ax.set_ylim(-0.6, len(kids) - 0.4)
    ax.set_xlabel("件数")
    ax.set_xlim(0, top * 1.12 + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=9,
              frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
