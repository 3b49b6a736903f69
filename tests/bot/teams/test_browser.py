"""The README's first command as a newcomer lives it: `drumbeat local` as a real process, the
Agents Playground's page in a real (headless) Chromium, and what the page shows.

Lucas opens the page on the sample's Monday morning (`--at`, on a clock that runs on from
there): his prompt card arrives within 30 s; he checks in through it, with a typo first (520
for 52.0: the card comes back asking) and then 58; the confirmation echoes what was stored,
`mine` shows it, and his team's digest counts him and carries its chart; `chart KEY` draws
his key result; Edit on the confirmation brings the form back with 58 in it, and 60 is
stored as revision 2. A screenshot of every failure is kept in `.tmp/screenshots/`.

Needs Chromium and its WebDriver (`scripts/ensure-chromium.sh` installs Debian's); without
them the test is skipped and says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.bot.teams.test_playground import free_port
from tests.conftest import failed

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
DRUMBEAT = Path(sys.executable).with_name("drumbeat")
MONDAY = "2026-11-23T09:05:00Z"  # 10:05 in Paris: the sample's weekly check-in is due
PROMPT_WITHIN = 30.0
SCREENSHOTS = ROOT / ".tmp" / "screenshots"
T = TypeVar("T")

webdriver = pytest.importorskip("selenium.webdriver", reason="Selenium is not installed")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402


def chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser is None or driver is None:
        pytest.skip(
            "Chromium and chromedriver are not installed (scripts/ensure-chromium.sh installs "
            "Debian's chromium and chromium-driver): the browser test cannot run"
        )
    return browser, driver


@dataclass(frozen=True)
class Local:
    log: Path
    page: str  # the Playground's URL


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Local]:
    """`drumbeat local` on its own SQLite file in `tmp_path` and its own ports (another test,
    or a developer's `make run`, may have the usual ones), until the test ends."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    log = tmp_path / "local.log"
    bot, playground = free_port(), free_port()
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [str(DRUMBEAT), "local", "--at", MONDAY, "--port", str(bot),
             "--playground-port", str(playground)],
            cwd=tmp_path, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    page = f"http://localhost:{playground}"
    try:
        wait_for(lambda: f"Open {page}" in log.read_text(), 120, log)
        yield Local(log, page)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Page:
    """The Playground's page as Lucas sees it."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver

    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def cards(self, containing: str) -> list[WebElement]:
        found: list[WebElement] = self.driver.find_elements(
            By.XPATH,
            "//*[contains(@class,'ac-adaptiveCard')]"
            f'[.//*[contains(normalize-space(.), "{containing}")]]',
        )
        return found

    def card(self, containing: str, *, seconds: float = 20) -> WebElement:
        return wait_for(lambda: (self.cards(containing) or [None])[-1], seconds)

    def press(self, card: WebElement, label: str) -> None:
        [button] = [b for b in card.find_elements(By.TAG_NAME, "button") if b.text == label]
        button.click()

    def choose(self, combobox: WebElement, option: str) -> None:
        combobox.click()
        wait_for(lambda: [o for o in self._options() if o.text.strip() == option], 5)[0].click()

    def _options(self) -> list[WebElement]:
        found: list[WebElement] = self.driver.find_elements(By.XPATH, "//*[@role='option']")
        return found

    def say(self, text: str) -> None:
        box = self.driver.find_element(By.CSS_SELECTOR, "[contenteditable='true']")
        box.click()
        box.send_keys(text)
        box.send_keys(Keys.ENTER)


@pytest.fixture
def page(local: Local, request: pytest.FixtureRequest) -> Iterator[Page]:
    browser, driver_path = chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=webdriver.ChromeService(driver_path), options=options)
    try:
        yield Page(driver)
    finally:
        if failed(request.node):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shot = SCREENSHOTS / f"{request.node.name}.png"
            driver.save_screenshot(str(shot))
            print(f"screenshot: {shot}\nbot's log:\n{local.log.read_text()[-3000:]}")
        driver.quit()


def wait_for(found: Callable[[], T | None], seconds: float, log: Path | None = None) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = found()
        except StaleElementReferenceException:  # the card was replaced as we read it
            value = None
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"not there after {seconds} s" + (f":\n{log.read_text()}" if log else ""))


def test_a_newcomer_gets_the_prompt_checks_in_through_the_card_and_sees_it_counted(
    page: Page, local: Local
) -> None:
    opened = time.monotonic()
    page.driver.get(local.page)
    prompt = page.card("Weekly check-in · 2026-W48", seconds=PROMPT_WITHIN + 5)
    assert time.monotonic() - opened < PROMPT_WITHIN
    assert "52% → target 70%" in prompt.text
    assert {"Check in", "Snooze 2h", "I'm off this week"} <= {
        b.text for b in prompt.find_elements(By.TAG_NAME, "button")
    }

    page.press(prompt, "Check in")
    form = page.card("Weekly check-in · Lucas Bernard")
    value = form.find_element(By.XPATH, ".//input[@role='spinbutton']")
    value.clear()
    value.send_keys("520")  # meant 52.0
    page.choose(form.find_elements(By.XPATH, ".//input[@role='combobox']")[0], "7")
    page.press(form, "Check in")

    asked = page.card("far outside this key result's range")
    assert "520%" in asked.text
    value = asked.find_element(By.XPATH, ".//input[@role='spinbutton']")
    value.clear()
    value.send_keys("58")
    page.press(asked, "Check in")

    done = page.card("Checked in at")
    assert "(Europe/Paris)" in done.text
    assert "58% (was 52%)" in done.text
    assert "confidence 7" in done.text
    assert "Edit" in {b.text for b in done.find_elements(By.TAG_NAME, "button")}

    page.say("mine")
    mine = page.card("Lucas Bernard's key results")
    assert "58%" in mine.text

    page.say("digest growth")
    digest = page.card("Needs attention")
    assert "1/2 checked in" in digest.text
    [chart] = digest.find_elements(By.TAG_NAME, "img")  # the objectives against the pace line
    assert chart.get_attribute("alt").startswith("Growth · 2026-Q4: objectives from 1 Oct")
    assert chart.size["width"] > 200

    page.say("chart onboarding-completion")
    trend = page.card("Not enough check-ins yet for a projection")
    [drawn] = trend.find_elements(By.TAG_NAME, "img")
    assert drawn.get_attribute("alt").startswith("Onboarding completion rate from 40% to 70%")
    assert drawn.get_attribute("src").startswith("data:image/png;base64,")  # small: inline
    # Edit on the confirmation: the same form in its place, with what was stored, and the
    # changed value stored as the check-in's second revision.
    page.press(page.card("Checked in at"), "Edit")
    edit = page.card("Weekly check-in · Lucas Bernard")
    value = edit.find_element(By.XPATH, ".//input[@role='spinbutton']")
    assert value.get_attribute("value") == "58"
    value.clear()
    value.send_keys("60")
    page.press(edit, "Check in")
    revised = page.card("revision 2")
    assert "60% (was 58%)" in revised.text

    text = page.text()
    assert "`" not in text  # no raw markdown anywhere on the page
    assert "**" not in text
    log = local.log.read_text()
    assert "Traceback" not in log
    assert "WARNING" not in log
