"""``--deployer-html`` in a real browser: Debian's headless Chromium opens the page a real run wrote (a drift matrix
with failing rows, an idempotency diff); its counts and grid cells are the JSON report's, a failing row's evidence
unfolds on a click, each step is a bar, and a screenshot shows a page, not a blank."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pytest_runs import leftovers, run, run_id
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

# Debian's packages; on GitHub's Ubuntu runners, the Chrome and ChromeDriver they come with.
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "google-chrome", "chromium-browser"))), None)
DRIVER = shutil.which("chromedriver") or shutil.which("chromedriver", path=os.environ.get("CHROMEWEBDRIVER", ""))
# This machine's closed network refuses Chromium's own background connections: none are tried.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
         "--window-size=1280,1600")  # fmt: skip
VERDICT = {True: "yes", False: "no", None: "none"}


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("html")
    code, output = run(
        "--deployer", "drift-sloppy", "--deployer", "idem-append", "-m", "drift or idempotency", "-n", "2",
        f"--deployer-json={folder / 'results.json'}", f"--deployer-html={folder / 'report.html'}",
    )  # fmt: skip
    assert code == 1, output  # both are wrong on purpose
    assert leftovers(run_id(output)) == []
    page = folder / "report.html"
    assert "drift-secret-token-51ab" not in page.read_text() and "idem-secret-token-7d3e" not in page.read_text()
    return page, json.loads((folder / "results.json").read_text())


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    if CHROMIUM is None or DRIVER is None:
        message = "needs Debian's chromium and chromium-driver (`make browser` installs them)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def opened(written: tuple[Path, dict[str, Any]], browser: WebDriver) -> dict[str, Any]:
    page, data = written
    browser.get(page.as_uri())
    assert browser.title == f"deployer-harness: run {data['run']['id']}"
    return data


def test_the_counts_are_the_json_report_s(browser: WebDriver, opened: dict[str, Any]) -> None:
    badges = browser.find_elements(By.CSS_SELECTOR, ".counts .count")
    shown = {b.get_attribute("data-outcome"): int(b.find_element(By.CLASS_NAME, "n").text) for b in badges}
    assert shown == opened["counts"] and opened["counts"]["failed"] >= 2
    rows = browser.find_elements(By.CSS_SELECTOR, "table.verdicts tr.item")
    assert [(r.get_attribute("data-scenario"), r.find_element(By.CLASS_NAME, "outcome").text) for r in rows] == [
        (item["scenario"], item["outcome"]) for item in opened["items"]
    ]


@pytest.mark.parametrize("deployer", ["drift-sloppy", "idem-append"])
def test_the_drift_grid_has_a_cell_for_each_verdict_of_each_row(
    browser: WebDriver, opened: dict[str, Any], deployer: str
) -> None:
    item = next(item for item in opened["items"] if item["deployer"] == deployer and item["drift"])
    grid = browser.find_element(By.CSS_SELECTOR, f'table.drift-grid[data-nodeid="{item["nodeid"]}"]')
    rows = grid.find_elements(By.CSS_SELECTOR, "tr.drift-row")
    assert len(rows) == len(item["drift"]) > 0
    for row, data in zip(rows, item["drift"], strict=True):
        cells = {
            c.get_attribute("data-column"): c.get_attribute("data-verdict")
            for c in row.find_elements(By.CSS_SELECTOR, "td.cell")
        }
        assert cells == {
            "detected": VERDICT[data["is_detected"]],
            "named": VERDICT[data["is_named"]],
            "healed": VERDICT[data["is_healed"]],
        }
        assert row.get_attribute("data-failed") == str(data["failed"]).lower()
    colours = {c.value_of_css_property("background-color") for c in grid.find_elements(By.CSS_SELECTOR, "td.cell")}
    assert (
        len(colours) >= 2
    )  # yes and no (or none) side by side: drift-sloppy's check never names, idem-append has none
    failing = sum(data["failed"] for data in item["drift"])
    assert f"{len(item['drift'])} mutations, {failing} failing" in browser.page_source


def test_a_failing_row_s_evidence_unfolds_on_a_click(browser: WebDriver, opened: dict[str, Any]) -> None:
    item = next(item for item in opened["items"] if item["deployer"] == "drift-sloppy" and item["drift"])
    grid = browser.find_element(By.CSS_SELECTOR, f'table.drift-grid[data-nodeid="{item["nodeid"]}"]')
    evidence = grid.find_elements(By.CSS_SELECTOR, "tr.evidence details")
    assert len(evidence) == sum(bool(row["evidence"]) for row in item["drift"]) > 0
    first = evidence[0]
    text = first.find_element(By.TAG_NAME, "pre")
    assert not text.is_displayed()  # folded
    first.find_element(By.TAG_NAME, "summary").click()
    assert text.is_displayed() and "drift found" in text.text  # what the vague check printed


def test_a_failed_item_s_failure_unfolds(browser: WebDriver, opened: dict[str, Any]) -> None:
    failures = browser.find_elements(By.CSS_SELECTOR, "table.verdicts tr.failure details")
    assert len(failures) == sum(bool(item["failure"]) for item in opened["items"]) > 0
    text = failures[0].find_element(By.TAG_NAME, "pre")
    assert not text.is_displayed()
    failures[0].find_element(By.TAG_NAME, "summary").click()
    first = next(item for item in opened["items"] if item["failure"])
    assert text.is_displayed() and first["message"] in text.text


def test_each_step_is_a_bar_and_the_diff_is_highlighted(browser: WebDriver, opened: dict[str, Any]) -> None:
    bars = browser.find_elements(By.CSS_SELECTOR, ".timeline .bar")
    steps = [step for item in opened["items"] for step in item["steps"]]
    assert [b.get_attribute("data-step") for b in bars] == [step["step"] for step in steps] != []
    assert all(b.size["width"] > 0 for b in bars)
    added = browser.find_elements(By.CSS_SELECTOR, ".patch .add")
    assert added and added[0].value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"


def test_a_screenshot_shows_the_page(
    browser: WebDriver,
    opened: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
    record_property: Any,
) -> None:
    shot = tmp_path_factory.mktemp("screenshot") / "report.png"
    assert browser.save_screenshot(str(shot))
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
        width, height = image.size
    assert width > 600 and height > 400
    common = Counter({colour: count for count, colour in colours}).most_common(1)[0][1]
    assert len(colours) > 20 and common < 0.97 * width * height, "the screenshot is blank"
    record_property("screenshot", str(shot))  # in JUnit, also under xdist
    with capsys.disabled():
        print(f"\nscreenshot of the HTML report: {shot}")
