"""The web page in a real headless browser: Debian's chromium driven by Selenium, and `resync web`
served by a subprocess, as a person would open it.

No browser is downloaded: chromium and its driver come from the system's packages (`.ci/run`
installs them). Without them the browser tests say so in one line and are skipped, or fail
under CI=true, so that a CI machine never passes them silently.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from orchestrator import settings
from queue_helpers import wait_until

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1280,1000")
MISSING = ("The web page's browser tests need Debian's chromium and chromium-driver"
           f" ({CHROMIUM} and {CHROMEDRIVER}): apt-get install -y chromium chromium-driver.")

#: Folders of screenshots written in this session, named at the end of the run (conftest.py).
SCREENSHOT_FOLDERS: list[Path] = []


def _installed() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


def skip_module_without_browser() -> None:
    """At a browser test module's top: without chromium, one line says so and its tests are
    skipped, except under CI=true, where require_browser fails each of them."""
    if not _installed() and os.environ.get("CI") != "true":
        pytest.skip(MISSING, allow_module_level=True)


def require_browser() -> None:
    if not _installed():
        pytest.fail(MISSING, pytrace=False)


class Browser:
    """A Selenium Chrome driver on Debian's chromium, and the screenshots of one test."""

    def __init__(self, profile: Path, screenshots: Path):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        self.driver.implicitly_wait(0)
        self.screenshots = screenshots
        self.taken: list[Path] = []

    def shot(self, name: str) -> Path:
        path = self.screenshots / f"{len(self.taken) + 1:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        self.taken.append(path)
        return path

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_for(self, css: str, timeout: float = 20.0, what: str | None = None):
        """The first element matching `css` once it is displayed."""
        from selenium.common.exceptions import StaleElementReferenceException

        def shown():
            try:
                found = [e for e in self.all(css) if e.is_displayed()]
            except StaleElementReferenceException:  # a live update replaced it meanwhile: look again
                return None
            return found[0] if found else None
        return wait_until(shown, timeout, what or f"{css} on {self.driver.current_url}", every=0.1)

    def data(self, css: str, key: str) -> str | None:
        """data-<key> of the element matching `css`, read in one script (live updates replace
        elements between two WebDriver calls)."""
        return self.driver.execute_script(
            "const e = document.querySelector(arguments[0]); return e ? e.dataset[arguments[1]] : null;", css, key)

    def quit(self) -> None:
        self.driver.quit()


@pytest.fixture(scope="session")
def screenshot_root(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("web-screenshots")
    SCREENSHOT_FOLDERS.append(folder)
    return folder


@pytest.fixture
def browser(request, tmp_path, screenshot_root):
    require_browser()
    folder = screenshot_root / request.node.name
    folder.mkdir()
    opened = Browser(tmp_path / "chromium-profile", folder)
    yield opened
    opened.quit()


# --- `resync web` as a subprocess ----------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebServer:
    def __init__(self, database_url: str, log: Path, *args: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        self.log_path = log
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from orchestrator.cli import main; main()", "web", "--port", str(self.port), *args],
            cwd=settings.project_dir(), env=dict(os.environ, RESYNC_DATABASE_URL=database_url),
            stdout=self._log, stderr=subprocess.STDOUT)
        wait_until(self._answers, 90, f"`resync web` to answer on {self.url}", every=0.2)

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"`resync web` exited with {self.process.returncode}:\n{self.log_path.read_text()}")
        try:
            with urllib.request.urlopen(self.url + "/signin", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        try:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(15)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait(15)
        finally:
            self._log.close()
