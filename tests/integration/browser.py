"""Headless Chromium for the dashboard tests, through Debian's chromium-driver
and python3-selenium (scripts/install-deps installs them).

    with Browser() as b:
        b.get(url)
        b.severe_console_messages()

Chromium runs with a fresh profile in a temporary directory and with every
background feature that would reach for the internet turned off (this
machine, and an air-gapped cluster, have none). The browser log is read from
the driver ("goog:loggingPrefs"), so console errors, failed loads and CSP
violations show up as SEVERE entries.
"""

import os
import shutil
import tempfile
import unittest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # scripts/install-deps installs python3-selenium
    webdriver = None


def available():
    return webdriver is not None and os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)


class Browser:
    def __init__(self, width=1400, height=1000):
        if not available():
            raise unittest.SkipTest("chromium, chromium-driver and python3-selenium are needed "
                                    "(scripts/install-deps installs them)")
        self.profile = tempfile.mkdtemp(prefix="modelmux-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                    "--disable-features=Translate,OptimizationHints,MediaRouter",
                    f"--user-data-dir={self.profile}", f"--window-size={width},{height}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        try:
            self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        except BaseException:
            shutil.rmtree(self.profile, ignore_errors=True)
            raise
        self.driver.set_page_load_timeout(30)
        self.log = []

    def get(self, url):
        self.driver.get(url)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait(self, predicate, timeout=20, what="a condition"):
        """Polls predicate(self) until it returns something truthy; returns that."""
        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(
            lambda _: predicate(self), message=f"timed out after {timeout}s waiting for {what}")

    def console(self):
        """Every browser log entry so far (each read drains the driver's buffer)."""
        self.log += self.driver.get_log("browser")
        return self.log

    def severe_console_messages(self):
        return [e["message"] for e in self.console() if e["level"] == "SEVERE"]

    def screenshot(self, path):
        self.driver.save_screenshot(path)

    def close(self):
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
