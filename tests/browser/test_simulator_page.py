"""The simulator page in a real chromium against a real stack: a gateway and a worker per
service (RabbitMQ, PostgreSQL) answering through the simulator's fake Slack, as `make run` +
`make simulator` do. Each step leaves a screenshot under var/screenshots/; with
ESTAFETA_README_SCREENSHOT=1 the reply step also refreshes docs/simulator.png."""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.sync_api import Locator, Page, Route, expect
from slack_sdk import WebClient

from estafeta.stores import open_stores
from slacksim.simulator import Simulator
from tests.browser.conftest import ROOT, Shots
from tests.conftest import BOT_TOKEN
from tests.integration.hosts import Host, eventually
from workers.search.query import parse
from workers.search.store import Scope
from workers.sentiment.scores import Scope as MoodScope

pytestmark = pytest.mark.integration

TEAM = "T0DEMO"
ANSWER = 15_000  # ms the bot gets to answer (it takes about one second)
README_SHOT = ROOT / "docs" / "simulator.png"


@dataclass
class Demo:
    """The simulator, and the host answering through it."""

    simulator: Simulator
    host: Host


@pytest.fixture(scope="module")
def demo(simulated: tuple[Simulator, Host]) -> Demo:
    """The simulator on a free port, and a host (gateway + a worker per service) whose
    SLACK_API_URL is the simulator's fake Slack (`tests/conftest.py`, shared with the
    simulator's HTTP tests)."""
    return Demo(*simulated)


def word(prefix: str) -> str:
    """A word nothing else says."""
    return prefix + uuid.uuid4().hex[:6]


def open_page(page: Page, demo: Demo) -> Page:
    """The simulator's page, loaded and live."""
    page.goto(demo.simulator.url)
    expect(page.get_by_role("button", name="#general")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("status").filter(has_text="live")).to_be_visible()
    return page


def composer(page: Page) -> Locator:
    return page.get_by_role("textbox", name=re.compile(r"^Message"))


def type_and_enter(page: Page, text: str) -> None:
    """Type a message and send it with Enter, as a person does."""
    box = composer(page)
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")


def messages(page: Page) -> Locator:
    return page.get_by_role("list", name="Messages")


def wait_indexed(demo: Demo, text: str, channel: str, expected: int) -> None:
    """Until the search service holds `expected` matches (heard messages are indexed async)."""
    documents = open_stores(demo.host.settings, "search").documents
    eventually(lambda: len(documents.search(parse(text), Scope(TEAM, channel),
                                            expected + 1)) >= expected,
               20, f"{expected} messages with {text!r} indexed")


def test_message_search_and_next_results(page: Page, demo: Demo,
                                         shots: Shots) -> None:
    topic = word("kiwi")
    for n in range(6):  # cheaply, the way the page says things
        said = demo.simulator.say("U0LUIS", "C0GENERAL", f"note {n} about the {topic} rollout")
        assert said["ok"], said
    open_page(page, demo)
    type_and_enter(page, f"Ana here: the {topic} rollout is on Tuesday *for real*")
    mine = messages(page).get_by_role("listitem").filter(has_text="Ana here")
    expect(mine).to_contain_text("Ana")
    expect(mine.locator("strong")).to_have_text("for real")
    shots.take(page, "said")

    wait_indexed(demo, topic, "C0GENERAL", 7)
    type_and_enter(page, f"/search {topic}")
    answer = messages(page).get_by_role("listitem").filter(has_text="Results 1–5")
    expect(answer).to_contain_text("Only visible to you", timeout=ANSWER)
    expect(answer).to_contain_text(topic)
    shots.take(page, "results")

    answer.get_by_role("button", name="Next results").click()
    expect(messages(page).get_by_role("listitem").filter(has_text="Results 6–7")
           ).to_be_visible(timeout=ANSWER)
    shots.take(page, "next-results")

    # Ephemerals are their person's alone.
    page.get_by_role("combobox", name="Speak as").select_option(label="Marta")
    expect(messages(page).get_by_text("Only visible to you")).to_have_count(0)
    expect(messages(page).get_by_text("Ana here")).to_be_visible()


def test_agenda_modal_submit_and_escape(page: Page, demo: Demo,
                                        shots: Shots) -> None:
    open_page(page, demo)
    page.get_by_role("button", name="#random").click()
    type_and_enter(page, "/agenda")
    dialog = page.get_by_role("dialog", name="New event")
    expect(dialog).to_be_visible(timeout=ANSWER)
    title = word("Demo ")
    dialog.get_by_label("What").fill(title)
    dialog.get_by_label("Day").fill((date.today() + timedelta(days=30)).isoformat())
    dialog.get_by_label("Time").fill("10:30")
    dialog.get_by_label("Repeat").select_option(index=0)
    shots.take(page, "modal")
    dialog.get_by_role("button", name="Add").click()
    expect(dialog).to_be_hidden(timeout=ANSWER)
    confirmation = messages(page).get_by_role("listitem").filter(has_text="Added")
    expect(confirmation.filter(has_text=title)).to_be_visible(timeout=ANSWER)
    shots.take(page, "added")

    type_and_enter(page, "/agenda")
    expect(dialog).to_be_visible(timeout=ANSWER)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # Escape told the simulator: no modal is left open for Ana.
    eventually(lambda: not demo.simulator.workspace.state()["modals"], 5, "the modal closed")


def test_mood_chart_loads(page: Page, demo: Demo, shots: Shots) -> None:
    for text in ("I love this team, great work!", "Wonderful news, thank you all"):
        assert demo.simulator.say("U0MARTA", "G0LEADS", text)["ok"]
    moods = open_stores(demo.host.settings, "sentiment").moods
    now = time.time()
    scope = MoodScope(TEAM, "G0LEADS", include_private=True)
    eventually(lambda: sum(day.messages for day in moods.days(scope, now - 2 * 86_400,
                                                               now + 86_400)) >= 2,
               20, "two messages scored")
    open_page(page, demo)
    page.get_by_role("combobox", name="Speak as").select_option(label="Marta")
    page.get_by_role("button", name="#leads").click()
    type_and_enter(page, "/mood")
    expect(messages(page)).to_contain_text("Only visible to you", timeout=ANSWER)
    # A slash command's chart goes to the person's DM with the bot.
    page.get_by_role("navigation", name="Channels").get_by_role("button", name="estafeta").click()
    chart = messages(page).get_by_role("img").first
    expect(chart).to_be_visible(timeout=ANSWER)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=chart.element_handle(), timeout=ANSWER)
    shots.take(page, "chart")


def test_the_agenda_export_is_a_download(page: Page, demo: Demo, shots: Shots) -> None:
    title = word("Standup")
    open_page(page, demo)
    page.get_by_role("combobox", name="Speak as").select_option(label="Luis")
    type_and_enter(page, f"/agenda add {title} tomorrow at 9:30")
    expect(messages(page)).to_contain_text(title, timeout=ANSWER)
    type_and_enter(page, "/agenda export")
    # Like the chart, the export goes to the person's DM with the bot: a file to download.
    page.get_by_role("navigation", name="Channels").get_by_role("button", name="estafeta").click()
    link = messages(page).get_by_role("link", name=re.compile(r"estafeta-agenda\.ics")).last
    expect(link).to_be_visible(timeout=ANSWER)
    expect(link).to_have_attribute("download", re.compile(r"\.ics$"))
    fetched = page.request.get(demo.simulator.url.rstrip("/") + str(link.get_attribute("href")))
    assert fetched.status == 200
    assert fetched.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in fetched.text() and title in fetched.text()
    shots.take(page, "export")


def test_typed_html_is_text(page: Page, demo: Demo, shots: Shots) -> None:
    open_page(page, demo)
    page.get_by_role("button", name="#random").click()
    attacks = ["<script>window.__xss=1</script>", '<img src=x onerror="window.__xss=1">']
    for attack in attacks:
        type_and_enter(page, attack)
        expect(messages(page).get_by_text(attack, exact=True)).to_be_visible()
    shots.take(page, "html-as-text")
    assert messages(page).locator("script").count() == 0
    assert page.locator("img[src='x'], img[src$='/x']").count() == 0
    assert page.evaluate("typeof window.__xss") == "undefined"


def test_mention_reply_and_calls_panel(page: Page, demo: Demo,
                                       shots: Shots) -> None:
    open_page(page, demo)
    type_and_enter(page, "@estafeta help")
    asked = messages(page).get_by_role("listitem").filter(has_text="@estafeta help").last
    expect(asked).to_be_visible()
    reply = asked.get_by_role("list", name="Replies").get_by_role("listitem").first
    expect(reply).to_contain_text("estafeta", timeout=ANSWER)
    calls = page.get_by_role("region", name="Slack calls")
    posted = calls.get_by_role("listitem").filter(has_text="chat.postMessage").last
    expect(posted).to_be_visible()
    expect(posted).to_contain_text(TEAM)
    posted.locator("summary").click()
    expect(posted.locator("pre")).to_contain_text('"channel": "C0GENERAL"')
    assert "xoxb-" not in calls.inner_text()
    path = shots.take(page, "replied")
    # The README's picture is committed: a run refreshes it only when asked to, so an
    # ordinary test run leaves the tree clean.
    if os.environ.get("ESTAFETA_README_SCREENSHOT") == "1":
        README_SHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(path, README_SHOT)


def test_a_failed_load_is_retried_and_a_lost_stream_catches_up(page: Page, demo: Demo,
                                                                shots: Shots) -> None:
    failed: list[str] = []

    def fail_once(route: Route) -> None:
        if failed:
            route.continue_()
        else:
            failed.append(route.request.url)
            route.abort()

    page.route("**/sim/state", fail_once)
    open_page(page, demo)
    assert len(failed) == 1  # the page is up: a second fetch loaded it
    # The stream drops: what the bot says before the page reconnects reaches it in the state
    # fetched on reconnecting, not as a live event.
    demo.simulator.workspace.close_all()
    text = word("gap")
    client = WebClient(token=BOT_TOKEN, base_url=demo.simulator.fake.api_url)
    client.chat_postMessage(channel="C0GENERAL", text=text, blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "image", "image_url": "//evil.test/x.png", "alt_text": "a chart elsewhere"}])
    said = messages(page).get_by_role("listitem").filter(has_text=text)
    expect(said).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="live")).to_be_visible()
    # An image that is not the simulator's own is its alt text, never fetched.
    expect(said).to_contain_text("[a chart elsewhere]")
    assert page.locator("img[src*='evil.test']").count() == 0
    shots.take(page, "caught-up")
