"""The review station in a real browser (headless Debian chromium + chromedriver, driven by Selenium): open it with
the token, drag a box, approve, and the next real run blanks that box; the keyboard reaches every control; without
the token the page is refused. The station runs as `python -m inference.review` in a subprocess, stopped at the end.

Screenshots: set MEDANON_SCREENSHOTS=DIR to keep them (benchmarks/review_screenshots.py writes docs/review_station_*.png).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from review_fixtures import ROOT, TEXTURED_BOX, released_pixels, released_us, run_medanon, trail, uniform

pytestmark = pytest.mark.timeout(600)
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _driver():
    webdriver = pytest.importorskip("selenium.webdriver")
    if not (Path(CHROMEDRIVER).exists() and Path(CHROMIUM).exists()):
        pytest.fail("chromium and chromium-driver are missing: run scripts/install.sh")
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1600,1100", "--no-first-run", "--disable-extensions"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


def start_station(out: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "inference.review", str(out), "--port", "0",
                             "--reviewer", "Browser Test"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 60
    for line in proc.stdout:  # the address with the token is printed once the server listens
        m = re.search(r"(http://127\.0\.0\.1:\d+/\?token=\S+)", line)
        if m:
            return proc, m.group(1)
        if time.time() > deadline:
            break
    proc.kill()
    pytest.fail("the station did not print its address")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _shot(driver, name: str) -> None:
    folder = os.environ.get("MEDANON_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"review_station_{name}.png"))


def _wait(driver, condition, timeout: float = 30):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(condition)


@pytest.fixture
def released(tmp_path, shared_dicom):
    return released_us(tmp_path, shared_dicom)


def test_browser_draw_box_approve_and_next_run_blanks_it(released):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    src, out = released
    assert not uniform(released_pixels(out)[0], TEXTURED_BOX)
    proc, url = start_station(out)
    driver = None
    try:
        base = url.split("/?token=")[0]
        with pytest.raises(urllib.error.HTTPError) as e:  # no token: refused
            urllib.request.urlopen(base + "/", timeout=10)
        assert e.value.code == 403
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + "/image/../../etc/passwd", timeout=10)
        assert e.value.code in (403, 404)

        driver = _driver()
        driver.get(base + "/")
        assert "403" in driver.page_source  # the browser without the token is refused too
        driver.get(url)
        _wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "nav button.file"))
        _shot(driver, "list")

        # keyboard: Tab from the top reaches every control, in order, and Enter opens a file
        driver.find_element(By.TAG_NAME, "body").click()
        controls = driver.execute_script(
            "return [...document.querySelectorAll('button, input, a[href], select, textarea')]"
            ".filter(e => e.offsetParent !== null && !e.disabled).length")
        reached = set()
        for _ in range(controls + 5):
            ActionChains(driver).send_keys(Keys.TAB).perform()
            reached.add(driver.execute_script(
                "const e = document.activeElement; return e.id || e.textContent || e.outerHTML.slice(0, 80);"))
        visible = driver.execute_script(
            "return [...document.querySelectorAll('button, input, a[href], select, textarea')]"
            ".filter(e => e.offsetParent !== null && !e.disabled).map(e => e.id || e.textContent)")
        assert set(visible) <= reached, set(visible) - reached
        first = driver.find_element(By.CSS_SELECTOR, "nav button.file")
        first.send_keys(Keys.ENTER)
        _wait(driver, lambda d: d.find_element(By.ID, "viewer").is_displayed())
        _wait(driver, lambda d: d.execute_script("return document.getElementById('before').naturalWidth") > 0)
        _wait(driver, lambda d: d.execute_script("return document.getElementById('after').naturalWidth") > 0)
        # every control of the open file is reachable by Tab as well
        visible = driver.execute_script(
            "return [...document.querySelectorAll('button, input')].filter(e => e.offsetParent !== null"
            " && !e.disabled).map(e => e.id || e.textContent)")
        driver.find_element(By.ID, "reviewer").click()
        reached = set()
        for _ in range(len(visible) + 400):  # the per-box Remove buttons count too
            reached.add(driver.execute_script("const e = document.activeElement; return e.id || e.textContent;"))
            ActionChains(driver).send_keys(Keys.TAB).perform()
            if set(visible) <= reached:
                break
        assert set(visible) <= reached, set(visible) - reached
        # focus is visible: the Approve button, reached by Tab, gets an outline
        for _ in range(500):
            if driver.execute_script("return document.activeElement.id") == "approve":
                break
            ActionChains(driver).send_keys(Keys.TAB).perform()
        outline = driver.execute_script("const e = document.activeElement; const s = getComputedStyle(e);"
                                        "return [e.tagName, s.outlineStyle, s.outlineWidth]")
        assert outline[0] in ("BUTTON", "INPUT") and outline[1] not in ("none", "") and outline[2] != "0px", outline

        # drag a box with the mouse on the original image
        canvas = driver.find_element(By.ID, "draw")
        w, h = canvas.size["width"], canvas.size["height"]
        nat = driver.execute_script("const i = document.getElementById('before'); return [i.naturalWidth, i.naturalHeight]")
        sx, sy = w / nat[0], h / nat[1]
        x0, y0, x1, y1 = TEXTURED_BOX
        start = (x0 * sx - w / 2 + 1, y0 * sy - h / 2 + 1)  # offsets from the element's centre (Selenium 4)
        ActionChains(driver).move_to_element_with_offset(canvas, *start).click_and_hold() \
            .move_by_offset((x1 - x0) * sx, (y1 - y0) * sy).release().perform()
        _wait(driver, lambda d: "reviewer" in d.find_element(By.ID, "boxes").text)
        added = driver.execute_script("return state.added")
        assert len(added) == 1 and added[0][0] == -1
        bx = added[0][1:]
        assert abs(bx[0] - x0) <= 4 and abs(bx[1] - y0) <= 4 and abs(bx[2] - x1) <= 4 and abs(bx[3] - y1) <= 4, bx
        _shot(driver, "box")
        driver.find_element(By.ID, "approve").send_keys(Keys.SPACE)  # a real button: Space operates it
        _wait(driver, lambda d: "Saved: approved" in d.find_element(By.ID, "status").text)
        assert "approved by Browser Test" in driver.find_element(By.ID, "decision").text
        _shot(driver, "approved")
    finally:
        if driver is not None:
            driver.quit()
        stop(proc)

    r = run_medanon(src, out)
    assert r.returncode == 0, r.stderr[-2000:]
    last = trail(out)[-1]
    assert last["actions"]["review"]["decision"] == "approved" and last["actions"]["review"]["reviewer"] == "Browser Test"
    inner = (bx[0] + 1, bx[1] + 1, bx[2] - 1, bx[3] - 1)
    assert uniform(released_pixels(out)[0], inner)
