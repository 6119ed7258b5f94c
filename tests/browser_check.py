"""Open an HTML page in headless Chromium (Playwright driving the machine's own browser) and measure it.

Used by the browser tests (``tests/reporting/test_browser.py``, ``tests/cli/test_run.py``).
Playwright never downloads a browser here: it launches the Chromium found on the machine
(:data:`CANDIDATES`, or ``$KZMIG_CHROMIUM``); without one, or without the ``playwright``
package, :func:`chromium_or_skip` skips the test and says why.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: the elements whose text must fit their box
TEXT_CONTAINERS = "p, li, h1, h2, h3, caption, th, td, dt, dd, figcaption, header, section, nav, figure, body"

MEASURE = """
(selector) => {
  const images = [...document.images].map(img => ({alt: img.alt, complete: img.complete,
                                                   width: img.naturalWidth, height: img.naturalHeight}));
  const overflow = [];
  for (const el of document.querySelectorAll(selector)) {
    if (el.clientWidth === 0) continue;                      // not laid out as a box
    if (el.scrollWidth > el.clientWidth + 1) {
      overflow.push({tag: el.tagName.toLowerCase(), text: (el.innerText || '').slice(0, 80),
                     scroll: el.scrollWidth, client: el.clientWidth});
    }
  }
  return {images, overflow, page_width: document.documentElement.scrollWidth, viewport: window.innerWidth,
          lang: document.documentElement.lang, title: document.title};
}
"""


def find_chromium() -> str | None:
    """Path of a Chromium on this machine (``$KZMIG_CHROMIUM`` first), or None."""
    env = os.environ.get("KZMIG_CHROMIUM")
    if env and Path(env).is_file():
        return env
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def chromium_or_skip() -> str:
    """The Chromium to drive, or skip the calling test with the reason."""
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("playwright is not installed (pip install -e '.[test]'); the browser check needs it")
    path = find_chromium()
    if path is None:
        pytest.skip(f"no Chromium on this machine (looked for {', '.join(CANDIDATES)} and $KZMIG_CHROMIUM); "
                    "install one (Debian: apt-get install chromium) to run the browser check")
    return path


def open_page(path: Path, *, width: int = 1280, height: int = 900, screenshot: Path | None = None,
              full_page: bool = False) -> dict:
    """Load ``path`` (a file) in headless Chromium at ``width`` x ``height``; the measurements of :data:`MEASURE`.

    With ``screenshot``, a PNG of the viewport (or the whole page with ``full_page``) is saved there.
    """
    from playwright.sync_api import sync_playwright

    exe = chromium_or_skip()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(Path(path).resolve().as_uri(), wait_until="load")
            found = page.evaluate(MEASURE, TEXT_CONTAINERS)
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=full_page)
        finally:
            browser.close()
    return found
