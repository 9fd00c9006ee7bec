"""The server's phone page in a real browser: headless Chromium driven by Selenium through Debian's
chromium-driver. Chooses a photo through the file input, reads the label the page shows, and saves
screenshots at phone and desktop widths (docs/serve-page-*.png, shown in the README)."""
import pathlib
import shutil

import pytest

from classify_fixtures import fruit_index, fruit_photos, split  # noqa: F401
from serve_helpers import Server

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def browser():
    if not shutil.which("chromedriver"):
        pytest.fail("chromedriver missing: scripts/bootstrap.sh installs Debian's chromium-driver")
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(shutil.which("chromedriver")),
                              options=options)
    yield driver
    driver.quit()


@pytest.mark.parametrize("width,height,name", [(390, 844, "phone"), (1280, 800, "desktop")])
def test_page_classifies_a_chosen_photo(browser, pomona_bin, fruit_index, split, build_dir,
                                        width, height, name):
    photo = split.test_paths[0]
    with Server(pomona_bin, fruit_index, "--weights", split.weights, "--threads", "1") as server:
        server.wait_ready()
        browser.set_window_size(width, height)
        browser.get(f"http://127.0.0.1:{server.port}/")
        assert browser.title == "Which fruit is this?"
        file_input = browser.find_element(By.ID, "file")
        assert file_input.get_attribute("capture") == "environment"
        assert file_input.get_attribute("accept") == "image/*"
        file_input.send_keys(photo)
        WebDriverWait(browser, 30).until(
            lambda b: b.find_element(By.ID, "status").text.startswith(("Answered", "Sorry")))
        assert browser.find_element(By.ID, "status").text.startswith("Answered")
        shown = browser.find_element(By.ID, "label").text
        answers = browser.find_elements(By.CSS_SELECTOR, "#answers li")
        assert len(answers) == 3
        assert shown and (shown in split.known or shown.startswith("Not sure (maybe "))
        # No request left the machine: every resource came from the server itself.
        resources = browser.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        assert all(r.startswith(f"http://127.0.0.1:{server.port}/") or r.startswith("blob:")
                   for r in resources), resources
        screenshot = build_dir / f"serve-page-{name}.png"
        browser.save_screenshot(str(screenshot))
        assert screenshot.stat().st_size > 5000
