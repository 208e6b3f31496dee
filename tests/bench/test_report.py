"""docs/benchmarks.md as `make bench` writes it: the verdicts first, the history kept.

Nothing here runs a benchmark or looks at a time: these are the page's rules."""

from __future__ import annotations

from bench import report

ORCHESTRATION = """\
## Orchestration overhead and transforms: the medium shop

`.venv/bin/python bench/orchestration.py --size medium` (700 s)

- Prefect adds **+8%** to the night (target under 10%: met); runs: prefect 26.7 s
- peak RSS 2,300 MB

| step | read its inputs | compute | compute / read | target ≤ 3× |
|---|---|---|---|---|
| reconciliation (rules) | 4.67 s | 3.02 s | 0.6× | met |
| VAT lines and returns | 1.00 s | 4.00 s | 4.0× | NOT met |"""

LOAD = """\
## Load vs the floor: SQLite

| load | seconds | rows/s |
|---|---|---|
| plain `executemany` | 46.9 | 31,053 |

- ours at **73% of the plain `executemany`'s throughput** (reported; the target is PostgreSQL's)"""

FAILED = """\
## Sync vs dlt: the medium shop into SQLite

```text
```

**Failed:**

```text
stopped after 14400 s
```"""

HEADER = "Run of 2026-11-28 00:02 UTC: `make bench`\n\n- machine: AMD EPYC, 2 cores"
HAND = "## Late evening of 2026-11-27: by hand\n\nPrefect +15 % -> +8 %, `bench/x.py`."


def test_verdicts_are_the_judged_bullets_and_rows_with_their_columns_named() -> None:
    assert report.verdicts(ORCHESTRATION) == [
        "Prefect adds **+8%** to the night (target under 10%: met); runs: prefect 26.7 s",
        "reconciliation (rules): read its inputs 4.67 s, compute 3.02 s,"
        " compute / read 0.6×, target ≤ 3× met",
        "VAT lines and returns: read its inputs 1.00 s, compute 4.00 s,"
        " compute / read 4.0×, target ≤ 3× NOT met",
    ]
    assert report.verdicts(LOAD) == []  # reported, not judged


def test_the_page_opens_on_the_verdicts_and_names_a_failed_benchmark() -> None:
    page = report.compose(HEADER, [LOAD, ORCHESTRATION, FAILED], ["The whole night"], HAND)
    summary = page[page.index(report.SUMMARY_HEADING) : page.index("## Load vs the floor")]
    assert "**Orchestration overhead and transforms: the medium shop**: Prefect adds" in summary
    assert "VAT lines and returns: read its inputs 1.00 s" in summary
    assert "**Sync vs dlt: the medium shop into SQLite**: failed" in summary
    assert "Load vs the floor" not in summary
    assert page.index(HEADER) < page.index(report.SUMMARY_HEADING)
    assert "Not measured yet: The whole night." in page
    # the run comes first, then the history measured by hand, then the older notes
    assert page.index(FAILED) < page.index(report.HISTORY_HEADING) < page.index(HAND)
    assert page.index(HAND) < page.index(report.PEERS_HEADING)


def test_a_run_keeps_the_hand_sections_and_rereading_the_page_changes_nothing() -> None:
    page = report.compose(HEADER, [LOAD, ORCHESTRATION], [], HAND)
    assert report.hand_sections(page) == HAND
    header, sections, pending = report.last_run(page)
    assert (header, sections, pending) == (HEADER, [LOAD, ORCHESTRATION], [])
    assert report.compose(header, sections, [], report.hand_sections(page)) == page


def test_a_page_of_the_older_layout_is_laid_out_again_without_losing_a_section() -> None:
    pending = "Not measured yet: Orchestration, The whole night: the large shop."
    older = "\n\n".join([report.INTRO, HAND, HEADER, LOAD, pending, report.PEERS])
    assert report.hand_sections(older) == HAND
    header, sections, titles = report.last_run(older)
    assert (header, sections) == (HEADER, [LOAD])
    assert titles == ["Orchestration", "The whole night: the large shop"]
    page = report.compose(header, sections, titles, report.hand_sections(older))
    assert page.index(LOAD) < page.index(pending) < page.index(HAND)
