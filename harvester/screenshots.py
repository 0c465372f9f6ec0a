"""``make docs-images``: regenerate ``docs/report.png`` and ``docs/levels.png`` from a real crawl.

The shared corpus (150 models spread over its MANIFEST; the bundled fixtures when the corpus is
absent) is crawled offline through a loopback fixture hub, exported as the HTML report, opened in
headless Chromium with one cell's evidence showing, and photographed; the figure is the plot of the
same run. The README's pictures are therefore what the code of the day produces.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


class NoBrowser(RuntimeError):
    pass


def chromium(width: int = 1400, height: int = 1000) -> Any:
    """Headless Chromium through Debian's chromedriver (never a downloaded browser)."""
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        raise NoBrowser("Chromium and chromedriver are needed (Debian packages chromium, chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--window-size={width},{height}"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=DRIVER), options=opts)


def main(argv: list[str] | None = None) -> int:
    from harvester.cli import main as cli
    from harvester.trials import CORPUS, pick_models

    p = argparse.ArgumentParser(prog="python -m harvester.screenshots", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", type=int, default=150, help="corpus models to crawl (default: 150)")
    p.add_argument("--out", type=Path, default=ROOT / "docs", help="folder of report.png and levels.png")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db, html, ids = Path(tmp) / "shots.db", Path(tmp) / "report.html", Path(tmp) / "models.txt"
        if (CORPUS / "models").is_dir():
            ids.write_text("\n".join(pick_models(CORPUS, args.models)) + "\n")
            crawl = ["--serve-fixtures", str(CORPUS), "--models", str(ids)]
        else:
            crawl = ["--serve-fixtures", str(ROOT / "fixtures")]
        if cli(["crawl", "--db", str(db), "-q", *crawl]) not in (0, 3):
            return 1
        cli(["export", "--db", str(db), "--format", "html", "--out", str(html), "-q"])
        cli(["plot", "--db", str(db), "--out", str(args.out / "levels.png"), "-q"])
        driver = chromium()
        try:
            from selenium.webdriver.common.by import By

            driver.get(html.as_uri())
            cells = driver.find_elements(By.CSS_SELECTOR, 'td.cell[data-component="weights"]')
            cells[min(3, len(cells) - 1)].click()  # one cell's evidence showing beside the table
            driver.execute_script("document.querySelector('.tablewrap').scrollLeft = 0")
            driver.save_screenshot(str(args.out / "report.png"))
        finally:
            driver.quit()
    print(f"wrote {args.out / 'report.png'} and {args.out / 'levels.png'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
