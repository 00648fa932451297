"""A headless Chromium for the page tests: Debian's `chromium`, `chromium-driver` and
`python3-selenium` (scripts/test.sh installs them). Screenshots go to tests/e2e/artifacts/
(not committed).

Two entry points with one behaviour: `chromium(offline=False)` (the verifier's tests) and
`make_driver(width, height)` (the explorer's), both with a viewport of exactly the size asked
(`set_viewport` changes it later); `screenshot(driver, name)` saves the viewport.
"""

import os
import shutil
import sys

try:
    import selenium  # noqa: F401
except ImportError:
    # Debian's python3-selenium lives in the system Python's dist-packages, which another Python on
    # PATH (e.g. pyenv's) does not search.
    sys.path.append("/usr/lib/python3/dist-packages")
    import selenium  # noqa: F401

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

HERE = os.path.dirname(os.path.abspath(__file__))
ARTIFACTS_DIR = os.path.join(HERE, "artifacts")
ARTIFACTS = ARTIFACTS_DIR
WINDOW = (1200, 900)


def find_chromedriver() -> str:
    for p in (os.environ.get("CHROMEDRIVER"), shutil.which("chromedriver"), "/usr/bin/chromedriver"):
        if p and os.path.isfile(p):
            return p
    raise FileNotFoundError("chromedriver not found: install Debian's chromium-driver "
                            "(scripts/install-deps.sh chromium chromium-driver python3-selenium)")


def set_viewport(driver, width: int, height: int) -> None:
    """The page's viewport (what a screenshot shows) becomes `width` x `height` CSS pixels; the
    window's own frame would otherwise take some of it."""
    driver.set_window_size(width, height)
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})


def chromium(offline: bool = False, width: int = WINDOW[0], height: int = WINDOW[1]) -> webdriver.Chrome:
    """A headless Chromium. `offline`: every request leaves through a proxy that does not exist
    (loopback included), so any fetch the page tried would fail."""
    opts = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--window-size={width},{height}", "--force-device-scale-factor=1",
              "--allow-file-access-from-files", "--disable-background-networking",
              "--disable-component-update", "--no-first-run", "--disable-sync"):
        opts.add_argument(a)
    if offline:
        opts.add_argument("--proxy-server=127.0.0.1:9")
        opts.add_argument("--proxy-bypass-list=<-loopback>")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    binary = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if binary:
        opts.binary_location = binary
    driver = webdriver.Chrome(service=Service(find_chromedriver()), options=opts)
    driver.set_script_timeout(90)
    driver.set_page_load_timeout(30)
    set_viewport(driver, width, height)
    if offline:
        driver.set_network_conditions(offline=True, latency=0, download_throughput=0, upload_throughput=0)
    return driver


def make_driver(width: int = WINDOW[0], height: int = WINDOW[1]) -> webdriver.Chrome:
    """A headless Chromium, online, with a `width` x `height` viewport."""
    return chromium(offline=False, width=width, height=height)


def wait_for(driver, condition, timeout_s: float = 20, message: str = ""):
    return WebDriverWait(driver, timeout_s, poll_frequency=0.05).until(lambda d: condition(d), message)


def screenshot(driver, name: str) -> str:
    """Saves the viewport as artifacts/<name>.png and returns the path."""
    os.makedirs(ARTIFACTS_DIR, exist_ok=True)
    path = os.path.join(ARTIFACTS_DIR, f"{name}.png")
    driver.save_screenshot(path)
    return path
