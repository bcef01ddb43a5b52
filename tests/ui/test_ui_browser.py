"""The chat UI in real headless Chromium, driven through chromedriver."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from ui.app import CHAT_WINDOW_ID, CLEAR_BUTTON_ID, MESSAGE_BOX_ID, SEND_BUTTON_ID  # noqa: E402
from ui.strings import get_strings  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()),
        reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)",
    ),
]

WAIT_SECONDS = 20
# Set UI_SCREENSHOT=/some/file.png to save a picture of the English page after a handoff.
SCREENSHOT_PATH = os.environ.get("UI_SCREENSHOT", "")

USER_MESSAGES = f"#{CHAT_WINDOW_ID} [data-testid='user'] .message-content"
BOT_MESSAGES = f"#{CHAT_WINDOW_ID} [data-testid='bot'] .message-content"


@pytest.fixture
def open_browser(tmp_path):
    """Return a function that starts a fresh headless Chromium. Every browser it started quits after the test."""
    drivers = []

    def start():
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for argument in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--window-size=1100,1000",
            "--lang=en-US",
            # Any host name fails to resolve, so a page that tries the internet cannot reach it.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            f"--user-data-dir={tmp_path / f'chromium-profile-{len(drivers)}'}",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()


def open_chat(driver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"#{MESSAGE_BOX_ID} textarea"))


def message_box(driver):
    return driver.find_element(By.CSS_SELECTOR, f"#{MESSAGE_BOX_ID} textarea")


def rendered_texts(driver, selector: str) -> list[str]:
    # One script call reads all texts at once. Gradio re-renders the chat window while a reply
    # arrives, so element handles found in one call may be stale in the next.
    script = "return Array.from(document.querySelectorAll(arguments[0]), (element) => element.innerText.trim());"
    return driver.execute_script(script, selector)


def bot_texts(driver) -> list[str]:
    return rendered_texts(driver, BOT_MESSAGES)


def user_texts(driver) -> list[str]:
    return rendered_texts(driver, USER_MESSAGES)


def send(driver, text: str, *, press_enter: bool = False) -> str:
    """Type `text`, send it and return the text of the bot reply it gets."""
    replies_before = len(bot_texts(driver))
    box = message_box(driver)
    box.send_keys(text)
    if press_enter:
        box.send_keys(Keys.ENTER)
    else:
        driver.find_element(By.ID, SEND_BUTTON_ID).click()
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: len(bot_texts(d)) > replies_before)
    return bot_texts(driver)[-1]


def conversation_id_in(reply_text: str) -> str:
    # The fake service ends most replies with "Conversation <id>." and Chinese ones with "会话 <id>。".
    for marker in ("Conversation ", "会话 "):
        if marker in reply_text:
            return reply_text.split(marker, 1)[1].split()[0].rstrip(".。")
    raise AssertionError(f"no conversation id in reply {reply_text!r}")


def test_browser_round_trip(en_app, open_browser):
    driver = open_browser()
    open_chat(driver, en_app.url)
    reply = send(driver, "Can you help me?")
    assert reply.startswith("Could you tell me more?")
    assert user_texts(driver) == ["Can you help me?"]
    assert message_box(driver).get_attribute("value") == ""


def test_browser_enter_sends(en_app, open_browser):
    driver = open_browser()
    open_chat(driver, en_app.url)
    reply = send(driver, "hello there", press_enter=True)
    assert reply.startswith("Could you tell me more?")


def test_browser_source_link(en_app, open_browser):
    driver = open_browser()
    open_chat(driver, en_app.url)
    reply = send(driver, "when do you ship?")
    assert "Sources" in reply
    link = driver.find_element(By.CSS_SELECTOR, f"{BOT_MESSAGES} a")
    assert link.text == "Shipping times"
    assert link.get_attribute("href") == "https://help.example.com/shipping"


def test_browser_handoff_notice(en_app, open_browser):
    driver = open_browser()
    open_chat(driver, en_app.url)
    send(driver, "when do you ship?")
    reply = send(driver, "I want a human please")
    assert reply.startswith("I am passing you to a colleague.")
    notice = driver.find_elements(By.CSS_SELECTOR, f"{BOT_MESSAGES} .handoff-notice")
    assert [element.text for element in notice] == [get_strings("en").handoff_notice]
    if SCREENSHOT_PATH:
        driver.save_screenshot(SCREENSHOT_PATH)


def test_browser_markup_shown_literally(en_app, open_browser):
    driver = open_browser()
    open_chat(driver, en_app.url)
    typed = "<b>order</b> *A_1* [x](http://a.test) & `c`"
    send(driver, typed)
    assert user_texts(driver) == [typed]
    assert en_app.service.messages_of(conversation_id_in(bot_texts(driver)[0])) == [typed]


def test_browser_sessions_isolated(en_app, open_browser):
    alice, bob = open_browser(), open_browser()
    open_chat(alice, en_app.url)
    open_chat(bob, en_app.url)

    alice_first = send(alice, "alice: where is my parcel?")
    bob_first = send(bob, "bob: I need an invoice")
    alice_second = send(alice, "alice: any update?")

    alice_id = conversation_id_in(alice_first)
    bob_id = conversation_id_in(bob_first)
    assert alice_id != bob_id
    assert conversation_id_in(alice_second) == alice_id
    assert en_app.service.messages_of(alice_id) == ["alice: where is my parcel?", "alice: any update?"]
    assert en_app.service.messages_of(bob_id) == ["bob: I need an invoice"]
    assert user_texts(bob) == ["bob: I need an invoice"]
    assert user_texts(alice) == ["alice: where is my parcel?", "alice: any update?"]
    assert all(alice_id not in text for text in bot_texts(bob))


def test_browser_new_conversation(en_app, open_browser):
    driver = open_browser()
    open_chat(driver, en_app.url)
    first_id = conversation_id_in(send(driver, "first question"))
    driver.find_element(By.ID, CLEAR_BUTTON_ID).click()
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: not bot_texts(d))
    second_id = conversation_id_in(send(driver, "second question"))
    assert second_id != first_id


def test_browser_trash_button_resets(en_app, open_browser):
    driver = open_browser()
    open_chat(driver, en_app.url)
    first_id = conversation_id_in(send(driver, "first question"))
    # The chat window's own clear button sits in its top panel.
    driver.find_element(By.CSS_SELECTOR, f"#{CHAT_WINDOW_ID} .top-panel button").click()
    WebDriverWait(driver, WAIT_SECONDS).until(lambda d: not bot_texts(d))
    second_id = conversation_id_in(send(driver, "second question"))
    assert second_id != first_id


def test_browser_service_error(en_app, open_browser):
    driver = open_browser()
    open_chat(driver, en_app.url)
    reply = send(driver, "boom")
    assert reply == get_strings("en").error_message
    reply = send(driver, "so when do you ship?")
    assert reply.startswith("Orders ship within 2 working days.")


def test_browser_empty_message_hint(en_app, open_browser):
    driver = open_browser()
    open_chat(driver, en_app.url)
    calls_before = len(en_app.service.calls)
    driver.find_element(By.ID, SEND_BUTTON_ID).click()
    # The toast fades in, so its text is empty for a moment after the element appears.
    toast_texts = WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: [text for text in rendered_texts(d, "[data-testid='toast-text']") if text]
    )
    assert toast_texts == [get_strings("en").empty_message]
    assert bot_texts(driver) == []
    assert len(en_app.service.calls) == calls_before


def test_browser_zh_page_strings(zh_app, open_browser):
    strings = get_strings("zh-CN")
    driver = open_browser()
    open_chat(driver, zh_app.url)
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: d.execute_script("return document.documentElement.lang") == "zh-CN"
    )
    assert driver.title == strings.title
    assert driver.find_element(By.TAG_NAME, "h1").text == strings.title
    assert message_box(driver).get_attribute("placeholder") == strings.placeholder
    assert driver.find_element(By.ID, SEND_BUTTON_ID).text == strings.send_button
    assert driver.find_element(By.ID, CLEAR_BUTTON_ID).text == strings.clear_button


def test_browser_zh_round_trip(zh_app, open_browser):
    strings = get_strings("zh-CN")
    driver = open_browser()
    open_chat(driver, zh_app.url)
    typed = "你好，我的订单（编号 A-1024）什么时候发货？"
    reply = send(driver, typed)

    conversation_id = conversation_id_in(reply)
    assert zh_app.service.messages_of(conversation_id) == [typed]
    assert user_texts(driver) == [typed]
    reply_lines = reply.split("\n")
    assert reply_lines[0] == zh_app.service.zh_shipping_answer(conversation_id)
    assert strings.sources_label in reply_lines
    assert driver.find_element(By.CSS_SELECTOR, f"{BOT_MESSAGES} a").text == "配送时间"
    diagnostics = driver.find_element(By.CSS_SELECTOR, f"{BOT_MESSAGES} .reply-diagnostics")
    assert diagnostics.text.startswith("retrieval · intent shipping · confidence 0.91")


def test_browser_fetches_nothing_remote(en_app, open_browser):
    driver = open_browser()
    open_chat(driver, en_app.url)
    send(driver, "when do you ship?")

    page_host = urlsplit(en_app.url).hostname
    requested = []
    for entry in driver.get_log("performance"):
        event = json.loads(entry["message"])["message"]
        if event["method"] == "Network.requestWillBeSent":
            requested.append(event["params"]["request"]["url"])
    web_requests = [url for url in requested if urlsplit(url).scheme in ("http", "https", "ws", "wss")]
    assert web_requests, "the performance log recorded no requests, so this test checks nothing"
    assert [url for url in web_requests if urlsplit(url).hostname != page_host] == []

    severe = [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []
