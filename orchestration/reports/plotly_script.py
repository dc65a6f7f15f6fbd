"""One copy of plotly.js for every report page, instead of 4.6 MB of it inside each file.

Report pages live at `<reports root>/<kind>/<page>.html` (quality, ai, kpi, ...). The script is
written once to `<reports root>/assets/plotly-<version>.min.js` and each page loads it by a
relative path, so the folder still opens offline from a file share or a USB stick, and a page
stays a few hundred kilobytes.

    from orchestration.reports.plotly_script import chart_html, plotly_script_tag
    head = plotly_script_tag(out_path, reports_root)     # put in <head>
    divs = [chart_html(fig) for fig in figures]           # put in <body>
"""

from __future__ import annotations

import os
from pathlib import Path

import plotly
import plotly.io as pio
from plotly.offline import get_plotlyjs

PLOTLY_FILE = f"plotly-{plotly.__version__}.min.js"


def shared_plotly_script(reports_root: Path) -> Path:
    """The shared plotly.js under `<reports_root>/assets/`, written if missing (atomically, so two
    report runs at once never leave a half-written script)."""
    target = Path(reports_root) / "assets" / PLOTLY_FILE
    script = get_plotlyjs()
    if not target.exists() or target.stat().st_size != len(script.encode("utf-8")):
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        partial.write_text(script, encoding="utf-8")
        partial.replace(target)
    return target


def plotly_script_tag(page: Path, reports_root: Path) -> str:
    """`<script src=...>` loading the shared plotly.js from `page` (relative, works offline)."""
    relative = os.path.relpath(shared_plotly_script(reports_root), Path(page).parent)
    return f'<script src="{Path(relative).as_posix()}" charset="utf-8"></script>'


def chart_html(figure, **config) -> str:
    """A chart's `<div>` and its drawing call, without plotly.js itself."""
    return pio.to_html(figure, full_html=False, include_plotlyjs=False, default_width="100%",
                       config={"displaylogo": False, **config})
