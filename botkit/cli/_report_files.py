"""``--report DIR``: equity / drawdown / trades plots (PNG) and a self-contained HTML page.

Runs after the engine has finished (never on the event loop). matplotlib uses its
non-interactive Agg backend, so no display is needed.
"""

from __future__ import annotations

import base64
import html
import io
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .._engine import RunSummary
from .._exceptions import ConfigError
from .._orders import Fill

__all__ = ["write_report"]

_LABELS = {
    "total_return": "Total return",
    "return_pct": "Return %",
    "realised_pnl": "Realised P&L",
    "fees": "Fees",
    "orders": "Orders",
    "rejected": "Rejected orders",
    "fills": "Fills",
    "round_trips": "Closing fills",
    "win_rate": "Win rate",
    "max_drawdown": "Max drawdown",
    "max_drawdown_pct": "Max drawdown %",
    "sharpe": "Sharpe (annualised, 1-min)",
    "exposure": "Exposure (time in market)",
    "final_equity": "Final equity",
}


def write_report(
    directory: str | Path,
    summary: RunSummary,
    equity: list[tuple[int, Decimal]],
    prices: list[tuple[int, Decimal]],
    fills: list[Fill],
    title: str,
) -> list[Path]:
    """Write ``report.png`` and ``report.html`` into ``directory``; returns the paths.

    :raises ConfigError: if the directory cannot be created.
    """
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--report {directory}: cannot create the directory: {exc.strerror or exc}") from None
    png = _plot(equity, prices, fills, title)
    png_path = out / "report.png"
    png_path.write_bytes(png)
    html_path = out / "report.html"
    html_path.write_text(_html(summary, png, title, _charts(equity, prices, fills)), encoding="utf-8")
    return [png_path, html_path]


def _plot(equity: list[tuple[int, Decimal]], prices: list[tuple[int, Decimal]], fills: list[Fill], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_eq, ax_dd, ax_px) = plt.subplots(3, 1, figsize=(11, 9), sharex=True,
                                              gridspec_kw={"height_ratios": [3, 1.3, 3]})
    times = [_dt(ts) for ts, _ in equity]
    values = [float(v) for _, v in equity]
    peak = float("-inf")
    drawdown = []
    for v in values:
        peak = max(peak, v)
        drawdown.append(v - peak)
    ax_eq.plot(times, values, color="#1f6feb", lw=1.4, drawstyle="steps-post")
    ax_eq.set_ylabel("equity")
    ax_eq.ticklabel_format(axis="y", useOffset=False, style="plain")
    ax_eq.set_title(title)
    ax_eq.grid(alpha=0.3)
    ax_dd.fill_between(times, drawdown, 0, color="#d1242f", alpha=0.35, step="post")
    ax_dd.set_ylabel("drawdown")
    ax_dd.grid(alpha=0.3)
    if prices:
        ax_px.plot([_dt(ts) for ts, _ in prices], [float(p) for _, p in prices], color="#57606a", lw=0.8)
    buys = [f for f in fills if f.side.value == "buy"]
    sells = [f for f in fills if f.side.value == "sell"]
    ax_px.scatter([_dt(f.ts_recv) for f in buys], [float(f.price) for f in buys], marker="^", color="#1a7f37",
                  s=28, label=f"buy fills ({len(buys)})", zorder=3)
    ax_px.scatter([_dt(f.ts_recv) for f in sells], [float(f.price) for f in sells], marker="v", color="#cf222e",
                  s=28, label=f"sell fills ({len(sells)})", zorder=3)
    ax_px.set_ylabel("price")
    ax_px.grid(alpha=0.3)
    ax_px.legend(loc="best", fontsize=8)
    fig.autofmt_xdate()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


#: Points (and fill marks) the page's interactive charts keep; the PNG has every one.
_CHART_POINTS = 5_000


def _thin(items: list[Any]) -> list[Any]:
    """At most :data:`_CHART_POINTS` of ``items``, evenly spaced, the last one kept."""
    step = -(-len(items) // _CHART_POINTS)
    return items if step <= 1 else items[::-1][::step][::-1]


def _charts(equity: list[tuple[int, Decimal]], prices: list[tuple[int, Decimal]], fills: list[Fill]) -> str:
    """The interactive equity and price charts: the live dashboard's chart code (uPlot),
    inline, with the run's series (zoom by dragging, double-click to reset)."""
    from ..dashboard._static import CHART_SCRIPTS, CHART_STYLE, static_text

    data = {
        "equity": [[ts / 1e6, float(v)] for ts, v in _thin(equity)],
        "price": [[ts / 1e6, float(p)] for ts, p in _thin(prices)],
        "fills": [{"ts": f.ts_recv, "price": str(f.price), "side": f.side.value} for f in _thin(fills)],
    }
    # "</" cannot end the script early: JSON allows it escaped.
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    scripts = "".join(f"<script>{static_text(name)}</script>" for name in CHART_SCRIPTS)
    return f"""<style>{static_text(CHART_STYLE)} .chart {{ height: 260px; }} .u-legend {{ display: none; }}</style>
<h2>Equity</h2><div id="equity-chart" class="chart"></div>
<h2>Price and fills <small>(drag to zoom, double-click to reset)</small></h2><div id="price-chart" class="chart"></div>
{scripts}<script>
(function () {{
  var data = {payload};
  botkitCharts.equity(document.getElementById("equity-chart")).set(data.equity);
  botkitCharts.price(document.getElementById("price-chart")).set(data.price, data.fills);
}})();
</script>"""


def _html(summary: RunSummary, png: bytes, title: str, charts: str = "") -> str:
    trading: dict[str, Any] = summary.trading
    rows = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(_fmt(trading.get(key)))}</td></tr>"
        for key, label in _LABELS.items()
    )
    run_rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in (
            ("source", summary.source),
            ("events", f"{summary.events:,}"),
            ("events/s", f"{summary.events_per_s:,.0f}"),
            ("parse errors", summary.parse_errors),
            ("strategy errors", summary.strategy_errors),
            ("stopped by", summary.stopped_by),
            ("kill switch", trading.get("kill_switch") or "not tripped"),
        )
    )
    image = base64.b64encode(png).decode()
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #1f2328; }}
h1 {{ font-size: 1.4rem; }} h2 {{ font-size: 1.05rem; margin: 1.5rem 0 .5rem; }}
.grid {{ display: flex; gap: 2rem; flex-wrap: wrap; }}
table {{ border-collapse: collapse; }}
th {{ text-align: left; font-weight: 500; color: #57606a; padding: .2rem 1.2rem .2rem 0; }}
td {{ text-align: right; font-variant-numeric: tabular-nums; }} img {{ width: 100%; margin-top: 1.5rem; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<div class="grid"><table>{rows}</table><table>{run_rows}</table></div>
{charts}
<img alt="equity, drawdown and fills" src="data:image/png;base64,{image}">
</body></html>
"""


def _fmt(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.4f}"
    if isinstance(value, str):
        try:
            return f"{Decimal(value):,.4f}"
        except ArithmeticError:
            return value
    return str(value)


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts / 1e9, tz=UTC)
