"""The built site in a real browser: headless Chromium (the system's, driven by Selenium) opens
it from a local HTTP server on 127.0.0.1, reads the overview's counts, follows a link to an
entity page, filters a table with the inline script, and saves a screenshot.

Skipped, saying why, only on a machine without Chromium and its driver; in CI (CI=true) a
missing browser fails, because `.ci/run` installs it.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.site.conftest import CASTELLDEFELS, Story

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver",)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1400",
)


def _find(names: tuple[str, ...], extra: tuple[str, ...] = ()) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return next((p for p in extra if Path(p).is_file()), None)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def served(story: Story) -> Iterator[str]:
    """The site over HTTP on 127.0.0.1 (an ephemeral port), as a browser would reach it."""
    handler = functools.partial(_QuietHandler, directory=str(story.out))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    binary = _find(BROWSERS)
    driver_path = _find(DRIVERS, ("/usr/lib/chromium/chromedriver",))
    if binary is None or driver_path is None:
        missing = "Chromium" if binary is None else "chromedriver"
        message = f"{missing} not found (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser test: {message}")
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    # The driver is given: Selenium Manager (which would download one) never runs.
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def test_a_person_reads_the_site_in_a_browser(
    story: Story, served: str, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(served + "index.html")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ca"
    counts = {
        ident: browser.find_element(By.ID, f"count-{ident}").text
        for ident in ("pre-entities", "pre-integrations", "pro-entities", "pro-integrations")
    }
    assert counts == {
        "pre-entities": "2",
        "pre-integrations": "3",
        "pro-entities": "1",
        "pro-integrations": "1",
    }
    # The filter fields are shown only when the script runs (the page's CSP allowed it).
    field = browser.find_element(By.CSS_SELECTOR, "input[data-filter='taula-entitats']")
    assert field.is_displayed()
    table_rows = browser.find_elements(By.CSS_SELECTOR, "#taula-entitats tbody tr")
    assert len(table_rows) == 2
    field.send_keys("ribagor")
    shown = [r for r in table_rows if r.is_displayed()]
    assert [r.find_element(By.TAG_NAME, "a").text for r in shown] == [
        "Consell Comarcal de l'Alta Ribagorça"
    ]
    field.clear()
    field.send_keys("cap ens així")
    assert not any(r.is_displayed() for r in table_rows)
    field.clear()
    field.send_keys(" ")  # blank: every row again
    assert all(r.is_displayed() for r in table_rows)

    browser.find_element(By.LINK_TEXT, "Ajuntament de Castelldefels").click()
    assert browser.current_url == served + f"entitat-{CASTELLDEFELS}.html"
    assert browser.find_element(By.TAG_NAME, "h1").text == (
        "Ajuntament de Castelldefels (0805690004)"
    )
    history = browser.find_element(By.ID, "historia")
    assert history.is_displayed()
    page_text = browser.find_element(By.TAG_NAME, "main").text
    assert "accés canviat a PRE" in page_text
    assert "<script>alert(1)</script>" in page_text  # the hostile subject, as text
    shot = tmp_path / "entitat.png"
    assert browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    browser.get(served + "index.html")
    overview = tmp_path / "index.png"
    assert browser.save_screenshot(str(overview))
    if os.environ.get("SITE_SCREENSHOTS"):  # where a person wants to look at them
        for made in (shot, overview):
            shutil.copy(made, Path(os.environ["SITE_SCREENSHOTS"]) / made.name)
