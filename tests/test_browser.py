"""The HTML report in a real browser: headless Chromium reads, sorts, opens evidence, screenshots."""

from __future__ import annotations

import os
import shutil

import pytest

from harvester.cli import main
from harvester.levels import COMPONENTS
from harvester.screenshots import NoBrowser, chromium
from tests.conftest import FIXTURES


def _browser():
    try:
        return chromium()
    except NoBrowser as exc:
        if os.environ.get("HARVESTER_REQUIRE_BROWSER"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


def test_report_in_headless_chromium(tmp_path, monkeypatch):
    monkeypatch.setattr("socket.socket.connect", __import__("socket").socket.connect)  # chromedriver is loopback
    db, html = tmp_path / "h.db", tmp_path / "report.html"
    assert main(["crawl", "--db", str(db), "--serve-fixtures", str(FIXTURES)]) == 0
    assert main(["export", "--db", str(db), "--format", "html", "--out", str(html)]) == 0
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

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
        links = [a.get_attribute("href") for a in panel.find_elements(By.TAG_NAME, "a")]
        assert any(h.startswith("https://huggingface.co/harvester-demo/tiny-base/blob/") for h in links), links
        for width in (1400, 800):  # side by side, then stacked: the panel never lies over the table
            driver.set_window_size(width, 1000)
            overlap = driver.execute_script(
                "var a = document.querySelector('.tablewrap').getBoundingClientRect(),"
                " b = document.getElementById('evidence').getBoundingClientRect();"
                "return Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left)) *"
                " Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));")
            assert overlap == 0, (width, overlap)
        driver.set_window_size(1400, 1000)
        model_link = driver.find_element(By.CSS_SELECTOR, 'tr[data-model="harvester-demo/tiny-base"] td.model a')
        assert model_link.get_attribute("href") == "https://huggingface.co/harvester-demo/tiny-base"
        # the keyboard reaches every cell: Tab from the filters, arrows between cells, Enter opens, Esc closes
        driver.find_element(By.ID, "filter-level").send_keys(Keys.TAB)
        tabs = 1
        while driver.switch_to.active_element.get_attribute("class") != "cell" and tabs < 30:
            driver.switch_to.active_element.send_keys(Keys.TAB)
            tabs += 1
        first = driver.switch_to.active_element
        # fourteen sortable headers (model, MOF class, the components) and the first row's model link come first
        assert tabs == len(COMPONENTS) + 4 and first.get_attribute("data-component") == COMPONENTS[0]
        first.send_keys(Keys.ARROW_RIGHT)
        first.parent.switch_to.active_element.send_keys(Keys.ARROW_DOWN)
        focused = driver.switch_to.active_element
        assert focused.get_attribute("data-component") == COMPONENTS[1]
        focused.send_keys(Keys.ENTER)
        assert COMPONENTS[1].replace("_", " ") in panel.text and focused.get_attribute("aria-pressed") == "true"
        focused.send_keys(Keys.ESCAPE)
        assert "Select a cell" in panel.text and driver.switch_to.active_element == focused
        # the hostile card's evidence renders as text, runs nothing
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
