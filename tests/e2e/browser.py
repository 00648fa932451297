"""Headless Chromium through WebDriver (Debian's `chromium`, `chromium-driver` and
`python3-selenium`), for the tests of the pages the node serves.

`make_driver()` gives a driver; `screenshot(driver, name)` saves `artifacts/<name>.png` beside this
file (gitignored). Debian's selenium lives in /usr/lib/python3/dist-packages, which another Python
(e.g. pyenv's) does not search: that directory is added when `import selenium` fails.
"""

from __future__ import annotations

import os
import shutil
import sys

try:
    import selenium  # noqa: F401
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    import selenium  # noqa: F401

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

HERE = os.path.dirname(os.path.abspath(__file__))
ARTIFACTS = os.path.join(HERE, "artifacts")


def _find(names: list[str], what: str) -> str:
    for n in names:
        p = n if os.path.isabs(n) else shutil.which(n)
        if p and os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    raise FileNotFoundError(f"{what} not found (tried {', '.join(names)}); on Debian: "
                            "apt-get install chromium chromium-driver python3-selenium")


def make_driver(width: int = 1200, height: int = 900) -> webdriver.Chrome:
    """A headless Chromium window of `width` x `height` CSS pixels."""
    opts = webdriver.ChromeOptions()
    opts.binary_location = _find(["chromium", "/usr/bin/chromium", "chromium-browser"], "chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}", "--hide-scrollbars", "--force-device-scale-factor=1"):
        opts.add_argument(arg)
    service = Service(executable_path=_find(["/usr/bin/chromedriver", "chromedriver"], "chromedriver"))
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(30)
    set_viewport(driver, width, height)
    return driver


def set_viewport(driver, width: int, height: int) -> None:
    """Size the window so that the page's viewport (what a screenshot shows) is `width` x `height`
    CSS pixels: a headless window's size includes its (invisible) browser frame."""
    driver.set_window_size(width, height)
    inner_w, inner_h = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    if (inner_w, inner_h) != (width, height):
        driver.set_window_size(width + (width - inner_w), height + (height - inner_h))


def screenshot(driver, name: str) -> str:
    """Save the viewport as artifacts/<name>.png; returns the path."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, f"{name}.png")
    driver.save_screenshot(path)
    return path
