"""mrkdwn.js in a real browser against tricky inputs: whatever a message says is shown as
text, links only for http(s), entities decoded once, formatting built as elements."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.browser.conftest import STATIC

ORIGIN = "http://simulator.test"
# Elements the renderer may create; anything else came from the text.
ALLOWED = {"STRONG", "EM", "S", "CODE", "PRE", "BLOCKQUOTE", "BR", "A", "SPAN"}

# Renders each input into its own <div> and describes what was built.
RENDER = """async ([inputs]) => {
  const { render } = await import("/static/mrkdwn.js");
  const directory = {
    userName: (id) => ({ U0ANA: "Ana", UBOT: "estafeta" })[id] || "",
    channelName: (id) => ({ C0GENERAL: "general" })[id] || "",
  };
  return inputs.map((text) => {
    const box = document.createElement("div");
    box.appendChild(render(text, directory));
    document.body.appendChild(box);
    const elements = [...box.querySelectorAll("*")].map((el) => ({
      tag: el.tagName, text: el.textContent,
      attrs: Object.fromEntries([...el.attributes].map((a) => [a.name, a.value])),
    }));
    return { text: box.innerText, elements };
  });
}"""


def _serve(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN)
    if path.startswith("/static/"):
        file = STATIC / path.removeprefix("/static/")
        route.fulfill(status=200, body=file.read_bytes(), content_type="text/javascript")
    else:
        route.fulfill(status=200, body="<!doctype html><title>t</title>",
                      content_type="text/html")


@pytest.fixture(scope="module")
def sandbox(browser: Browser) -> Iterator[Page]:
    """A blank page on a routed origin that can import the page's modules (no server)."""
    context = browser.new_context()
    page = context.new_page()
    page.route(f"{ORIGIN}/**", _serve)
    page.goto(f"{ORIGIN}/")
    yield page
    context.close()


def rendered(page: Page, *inputs: str) -> list[dict[str, Any]]:
    """What `render` built for each input: its visible text and its elements."""
    result: list[dict[str, Any]] = page.evaluate(RENDER, [list(inputs)])
    return result


def tags(result: dict[str, Any]) -> list[str]:
    return [element["tag"] for element in result["elements"]]


def test_html_in_text_stays_text(sandbox: Page) -> None:
    escaped, raw, image = rendered(
        sandbox,
        "&lt;script&gt;window.__xss=1&lt;/script&gt;",  # what Slack sends for typed HTML
        "<script>window.__xss=1</script>",  # unescaped, as a careless bot might send it
        '<img src=x onerror="window.__xss=1">',
    )
    assert escaped["text"] == "<script>window.__xss=1</script>"
    assert escaped["elements"] == []
    assert "window.__xss=1" in raw["text"]
    assert "img src=x" in image["text"]
    for result in (raw, image):
        assert set(tags(result)) <= ALLOWED
        assert "A" not in tags(result)
    assert sandbox.evaluate("window.__xss") is None
    assert sandbox.locator("script, img").count() == 0


def test_links_only_for_http(sandbox: Page) -> None:
    good, script, mail, data = rendered(
        sandbox,
        "<https://example.com/a?x=1&amp;y=2|the *label*>",
        "<javascript:window.__xss=1|click me>",
        "<mailto:ana@example.com|Ana>",
        "<data:text/html,hi>",
    )
    (link,) = good["elements"]
    assert link["tag"] == "A"
    assert link["attrs"]["href"] == "https://example.com/a?x=1&y=2"
    assert link["attrs"]["rel"] == "noopener noreferrer"
    assert link["attrs"]["target"] == "_blank"
    assert link["text"] == "the *label*"
    assert script == {"text": "click me", "elements": []}
    assert mail == {"text": "Ana", "elements": []}
    assert data == {"text": "data:text/html,hi", "elements": []}


def test_mentions_and_entities(sandbox: Page) -> None:
    user, bot, unknown, channel, named, here, twice = rendered(
        sandbox, "hi <@U0ANA>", "<@UBOT>", "<@U9999>", "in <#C0GENERAL>",
        "<#C0OTHER|other>", "<!here> look", "&amp;lt;b&amp;gt; &amp;amp;",
    )
    assert user["text"] == "hi @Ana"
    assert bot["text"] == "@estafeta"
    assert unknown["text"] == "@U9999"
    assert channel["text"] == "in #general"
    assert named["text"] == "#other"
    assert here["text"] == "@here look"
    # Decoded once: what Slack double-escaped is shown with its entities.
    assert twice["text"] == "&lt;b&gt; &amp;"


def test_formatting(sandbox: Page) -> None:
    styled, words, nested, multiline = rendered(
        sandbox,
        "*bold* _italic_ ~gone~ `a <b> &amp; *c*`",
        "2*3*4 snake_case_name a * b *",
        "*see <https://example.com|this>*",
        "one\ntwo\n&gt; quoted &amp; kept\n> also quoted\nafter\n```\n<@U0ANA> *x* &lt;\n```",
    )
    assert [(e["tag"], e["text"]) for e in styled["elements"]] == [
        ("STRONG", "bold"), ("EM", "italic"), ("S", "gone"), ("CODE", "a <b> & *c*")]
    assert words["elements"] == []
    assert words["text"] == "2*3*4 snake_case_name a * b *"
    assert tags(nested) == ["STRONG", "A"]
    assert tags(multiline).count("BR") >= 2
    (quote,) = [e for e in multiline["elements"] if e["tag"] == "BLOCKQUOTE"]
    assert quote["text"] == "quoted & keptalso quoted"
    (pre,) = [e for e in multiline["elements"] if e["tag"] == "PRE"]
    assert pre["text"] == "<@U0ANA> *x* <\n"
    assert "after" in multiline["text"]


def test_unclosed_marks_are_text(sandbox: Page) -> None:
    texts = ["*open _half ```fence <unclosed", "`tick ~", "<>", "* not bold *"]
    for text, result in zip(texts, rendered(sandbox, *texts), strict=True):
        assert result["elements"] == [], text
        assert result["text"] == text
