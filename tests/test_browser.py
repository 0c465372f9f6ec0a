"""The HTML report in a real browser: headless Chromium reads, sorts, opens evidence, screenshots."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harvester.cli import main
from tests.conftest import FIXTURES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _browser():
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        if os.environ.get("HARVESTER_REQUIRE_BROWSER"):
            pytest.fail("Chromium and chromedriver are required here (Debian packages chromium, chromium-driver)")
        pytest.skip("Chromium/chromedriver not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=DRIVER), options=opts)


def test_report_in_headless_chromium(tmp_path, monkeypatch):
    monkeypatch.setattr("socket.socket.connect", __import__("socket").socket.connect)  # chromedriver is loopback
    db, html = tmp_path / "h.db", tmp_path / "report.html"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(FIXTURES)]) == 0
    assert main(["export", "--db", str(db), "--format", "html", "--out", str(html)]) == 0
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    driver = _browser()
    try:
        driver.get(html.as_uri())
        rows = driver.find_elements(By.CSS_SELECTOR, "#taxonomy tbody tr")
        assert len(rows) == 9
        first = [r.get_attribute("data-model") for r in rows]
        assert first == sorted(first)
        # sort by weights: closed/restrictive first, '?' last
        weights_th = driver.find_elements(By.CSS_SELECTOR, "#taxonomy thead th")[-1]
        assert weights_th.get_attribute("title") == "weights"
        weights_th.click()
        levels = [r.find_elements(By.TAG_NAME, "td")[-1].text
                  for r in driver.find_elements(By.CSS_SELECTOR, "#taxonomy tbody tr")]
        order = {"D3": 3, "D4": 4, "D5": 5, "?": 7}
        assert [order[x] for x in levels] == sorted(order[x] for x in levels) and levels[0] == "D3"
        # filter by organisation
        driver.find_element(By.ID, "filter-model").send_keys("tiny")
        visible = [r for r in driver.find_elements(By.CSS_SELECTOR, "#taxonomy tbody tr") if r.is_displayed()]
        assert len(visible) == 4
        # open a cell's evidence
        cell = driver.find_element(By.CSS_SELECTOR,
                                   'tr[data-model="harvester-demo/tiny-base"] td[data-component="weights"]')
        cell.click()
        panel = driver.find_element(By.ID, "evidence")
        assert panel.is_displayed()
        assert "Apache-2.0" in panel.text and "apache-2.0" in panel.text and "commercial" in panel.text
        # the hostile card's evidence renders as text, runs nothing
        driver.find_element(By.ID, "evidence-close").click()
        assert not panel.is_displayed()
        box = driver.find_element(By.ID, "filter-model")
        box.send_keys("\b" * 10)
        assert all(r.is_displayed() for r in driver.find_elements(By.CSS_SELECTOR, "#taxonomy tbody tr"))
        driver.find_element(By.CSS_SELECTOR, 'tr[data-model="acme/hostile-card"] td[data-component="weights"]').click()
        assert "<script>" in driver.find_element(By.ID, "evidence").text
        assert driver.execute_script("return window.__pwned === undefined") is True
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # noqa: B018
        shot = tmp_path / "report.png"
        driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    from PIL import Image, ImageStat

    with Image.open(shot) as im:
        stat = ImageStat.Stat(im.convert("L"))
        colours = len(im.convert("RGB").getcolors(1 << 20) or [])
    assert stat.stddev[0] > 10 and colours > 20, "screenshot looks blank"
    out = os.environ.get("HARVESTER_SCREENSHOT")
    if out:
        shutil.copy(shot, out)
