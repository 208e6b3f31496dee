"""The finance report of a generated shop opens offline in a real browser (headless
Chromium) with every section, every chart decoded, and nothing fetched.

The shop is the flow tests' generated one (40 customers, 18 months, every provider and
the planted anomalies), read without HTTP: its KPIs over the whole history, the forecast
of the last day and of a week before (for the accuracy table), recovery by stage and the
open exceptions that reconciliation finds. A copy of the page gets a probe script (the
report itself carries none) that writes, once the page has loaded, what the browser
sees: each section's heading and height, each image's decoded size, every resource the
page fetched.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from domain.kpis import cashflow_forecast, failures, forecast_accuracy, kpi_daily, recovery_by_stage
from domain.reconcile import Frames, ReconPolicy, empty_register, find_exceptions, update_register
from reporting import SECTIONS, FinanceData, render_finance_report
from sandbox.generate import Summary
from sandbox.store import Store
from tests.browser import dump_dom, require_chromium
from tests.domain.kpis.shop import shop_inputs
from tests.flows.conftest import AS_OF, shop_template  # noqa: F401  (the generated shop)

TZ = "Europe/Paris"
PROBE = """
<script>
window.addEventListener("load", () => {
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    sections: [...document.querySelectorAll("section")].map(s => ({
      id: s.id, heading: s.querySelector("h2").textContent,
      height: s.getBoundingClientRect().height})),
    images: [...document.images].map(i => ({
      alt: i.alt, width: i.naturalWidth, height: i.naturalHeight, complete: i.complete,
      inline: i.src.startsWith("data:image/png;base64,")})),
    fetched: performance.getEntriesByType("resource").map(r => r.name),
  });
  document.body.appendChild(probe);
});
</script>
"""


@pytest.fixture(scope="module")
def report(shop_template: tuple[Path, Summary], tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    path, _ = shop_template
    store = Store.open(path)
    try:
        shop, frames = shop_inputs(store)
    finally:
        store.close()
    first = shop.subscriptions["start_at"].min().date()
    week_before = AS_OF - timedelta(days=7)
    found = find_exceptions(Frames.of(frames), AS_OF, ReconPolicy())
    register = update_register(empty_register(), found, AS_OF)
    units = failures(shop.payments, shop.invoices, shop.dunning_actions, TZ)
    html = render_finance_report(
        FinanceData(
            as_of=AS_OF,
            kpis=kpi_daily(shop, first, AS_OF, TZ),
            recovery=recovery_by_stage(units),
            forecast=cashflow_forecast(shop, AS_OF, TZ),
            accuracy=forecast_accuracy(
                cashflow_forecast(shop, week_before, TZ), shop.payouts, AS_OF
            ),
            exceptions=register[register["status"] == "open"],
        )
    )
    target = tmp_path_factory.mktemp("report") / f"finance-{AS_OF}.html"
    target.write_text(html, encoding="utf-8")
    return target


def test_the_report_renders_every_section_offline_in_chromium(report: Path) -> None:
    chromium = require_chromium()
    probed = report.with_name("probed.html")
    probed.write_text(report.read_text().replace("</body>", PROBE + "</body>"), encoding="utf-8")

    dom = dump_dom(probed, chromium)

    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, flags=re.DOTALL)
    assert found, "the page did not finish loading in Chromium"
    seen = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert [(s["id"], s["heading"]) for s in seen["sections"]] == list(SECTIONS)
    assert all(s["height"] > 0 for s in seen["sections"])
    assert len(seen["images"]) >= 6
    for image in seen["images"]:
        assert image["inline"], image["alt"]
        assert image["complete"], image["alt"]
        assert image["width"] > 100, image["alt"]
        assert image["height"] > 100, image["alt"]
    assert seen["fetched"] == []  # nothing but the file itself: it opens offline


def test_the_shop_report_has_figures_in_each_section(report: Path) -> None:
    html = report.read_text()
    assert "<td>MRR</td><td>" in html
    assert "open in recon_exceptions" in html
    assert "duplicate_payment" in html
    assert "Accuracy of earlier forecasts, EUR" in html
    assert "no forecast from 7 or 30 days ago yet" not in html
