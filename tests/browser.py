"""Headless Chromium for the browser tests: the command-line screenshot and a selenium driver.

Tests call ``require_chromium()`` / ``require_driver()``, which skip with a clear message when the
browser (Debian packages ``chromium`` and ``chromium-driver``, ``make browser``) or selenium is absent.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# quiet, offline, sandbox-free (containers run as root) headless Chromium
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def chromedriver_path() -> str | None:
    found = shutil.which("chromedriver")
    if found:
        return found
    return "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").is_file() else None


def require_chromium() -> str:
    path = chromium_path()
    if path is None:
        pytest.skip("headless Chromium not found (install Debian's chromium: `make browser`)")
    return path


def require_driver() -> tuple[str, str]:
    chromium = require_chromium()
    driver = chromedriver_path()
    if driver is None:
        pytest.skip("chromedriver not found (install Debian's chromium-driver: `make browser`)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[dev]')")
    return chromium, driver


def screenshot(url: str, out: Path, width: int = 1600, height: int = 1200, timeout: float = 90) -> Path:
    """Render ``url`` with the Chromium command line and write a PNG to ``out``."""
    chromium = require_chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [
            chromium,
            "--headless",
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--screenshot={out}",
            f"--window-size={width},{height}",
            url,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not out.is_file():
        raise AssertionError(f"chromium screenshot failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return out


@contextmanager
def driver(width: int = 1600, height: int = 1200) -> Iterator:
    """A selenium Chrome driver on headless Chromium; quits (and kills the browser) on exit."""
    chromium, chromedriver = require_driver()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = chromium
        for flag in [
            "--headless=new",
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
        ]:
            opts.add_argument(flag)
        drv = webdriver.Chrome(service=Service(chromedriver), options=opts)
        try:
            drv.set_page_load_timeout(60)
            yield drv
        finally:
            drv.quit()
