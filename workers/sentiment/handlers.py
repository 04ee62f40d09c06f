"""The sentiment service's handlers: score what is heard, answer `/mood`, raise alerts."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject, SectionBlock

from estafeta.grammar import Command
from estafeta.mrkdwn import escape
from estafeta.payloads import Context, HeardMessage, ReplyTarget
from workers.replies import Reply, SlackReplier, TransientError, Upload
from workers.sentiment import commands, texts
from workers.sentiment.analysis import Analyzer, label
from workers.sentiment.chart import render
from workers.sentiment.scores import Day, MoodStore, Scope, Scored, day_of
from workers.service import ServiceHandlers

log = logging.getLogger(__name__)

SUMMARY_DAYS = 7
MAX_DAYS = 365
DAY = 86400.0
# Alerts: the last hour against the channel's own trailing two weeks.
ALERT_WINDOW = 3600.0
ALERT_BASELINE_DAYS = 14
ALERT_MIN_MESSAGES = 5  # in the last hour: one grumpy message is not a mood
ALERT_MIN_BASELINE = 20  # messages in the baseline: a new channel has no "usual" yet
ALERT_DROP = 0.35  # how far under its baseline the last hour must be
ALERT_CEILING = -0.1  # and it must be negative in itself, not merely less cheerful
ALERT_EVERY = 6 * 3600.0  # at most one alert per channel in this many seconds
# The Home tab: the channels where the person wrote lately (so, ones they are in), each with
# what `/mood` says of it.
HOME_CHANNELS = 10
HOME_LOOKBACK_DAYS = 30

# A Slack id: the only thing the bot wraps in `<#…>` or `<@…>` itself.
_ID = re.compile(r"^[A-Z0-9]+$")
_ON = {"on", "yes", "si", "sí", "activar", "activa", "enable"}
_OFF = {"off", "no", "desactivar", "desactiva", "disable"}


@dataclass(frozen=True)
class Request:
    """What `/mood` was asked about: whose messages, over how many days."""

    scope: Scope
    days: int
    subject: str  # how the answer names it: "<#C123>" or "<@U123>"


class UsageProblem(ValueError):
    """A `/mood` request that cannot be answered; the message says why."""


def parse_request(args: str, context: Context, lang: str) -> Request:
    """Read `[#channel|@me|@user] [Nd]` (the words `commands` declares) against who asks."""
    channel, user, days = context.channel, "", SUMMARY_DAYS
    for word in args.split():
        if match := commands.CHANNEL.match(word):
            channel = match.group(1)
        elif match := commands.USER.match(word):
            user = match.group(1)
        elif commands.SELF.match(word):
            user = context.user
        elif match := commands.PERIOD.match(word):
            days = int(match.group(1))
            if not 1 <= days <= MAX_DAYS:
                raise UsageProblem(texts.get(lang, "period").format(max=MAX_DAYS))
        else:
            # The word is the user's: quoted inert, so `<!channel>` is shown, not sent.
            raise UsageProblem(texts.get(lang, "usage").format(word=escape(word[:40])))
    if user:
        if context.source == "api" or user != context.user:
            raise UsageProblem(texts.get(lang, "only_self"))
        return Request(Scope(context.team, user=user), days, f"<@{user}>")
    if not _ID.match(channel):  # none, or an HTTP caller's free text: not a channel id
        raise UsageProblem(texts.get(lang, "no_channel"))
    # A private channel's messages are read only from inside it (Slack vouches for that).
    return Request(Scope(context.team, channel=channel,
                         include_private=context.inside == channel), days, f"<#{channel}>")


def _average(days: list[Day]) -> tuple[int, float]:
    count = sum(d.messages for d in days)
    return count, (sum(d.average * d.messages for d in days) / count if count else 0.0)


def summarise(store: MoodStore, request: Request, now: float) -> dict[str, Any]:
    """The summary's data: averages, shares, trend, worst day and the daily series."""
    since = now - request.days * DAY
    days = store.days(request.scope, since, now)
    previous = store.days(request.scope, since - request.days * DAY, since)
    count, average = _average(days)
    previous_count, previous_average = _average(previous)
    data: dict[str, Any] = {
        "subject": request.subject, "days": request.days, "messages": count,
        "average": round(average, 4), "label": label(average) if count else None,
        "positive_share": round(sum(d.positive for d in days) / count, 4) if count else 0.0,
        "negative_share": round(sum(d.negative for d in days) / count, 4) if count else 0.0,
        "previous_average": round(previous_average, 4) if previous_count else None,
        "trend": round(average - previous_average, 4) if count and previous_count else None,
        "most_negative": None,
        "series": [{"day": d.day, "messages": d.messages, "average": round(d.average, 4),
                    "positive": d.positive, "negative": d.negative} for d in days],
    }
    if days:
        worst = min(days, key=lambda d: (d.average, -d.messages))
        moment = store.most_negative(request.scope, worst.day)
        data["most_negative"] = {"day": worst.day, "average": round(worst.average, 4),
                                 "messages": worst.messages}
        if moment is not None:
            data["most_negative"].update(channel=moment[0], ts=moment[1],
                                         score=round(moment[2], 4))
    return data


class Mood:
    """The sentiment commands, bound to a store, an analyzer and a Slack client."""

    def __init__(self, store: MoodStore, analyzer: Analyzer, replier: SlackReplier) -> None:
        self.store = store
        self.analyzer = analyzer
        self.replier = replier

    # -- heard messages ------------------------------------------------------------------

    def on_heard(self, message: HeardMessage) -> None:
        """Score one heard message (a redelivery changes nothing; an edit is rescored)."""
        if message.deleted:
            self.store.delete(message.team, message.channel, message.ts)
            return
        usual = self.store.usual_language(message.team, message.channel)
        score = self.analyzer.score(message.text, fallback_lang=usual)
        self.store.put(Scored(message.team, message.channel, message.ts, message.user,
                              score.compound, score.lang, message.channel_type == "channel"))
        self.check_alert(message.team, message.channel)

    def check_alert(self, team: str, channel: str, now: float | None = None) -> bool:
        """Post one alert if an opted-in channel's last hour is far under its baseline."""
        lang = self.store.alerts_language(team, channel)
        if lang is None:
            return False
        now = time.time() if now is None else now
        recent, recent_average = self.store.recent(team, channel, now - ALERT_WINDOW)
        if recent < ALERT_MIN_MESSAGES or recent_average > ALERT_CEILING:
            return False
        scope = Scope(team, channel=channel, include_private=True)
        baseline_count, baseline = _average(self.store.days(
            scope, now - ALERT_BASELINE_DAYS * DAY, now))
        if baseline_count < ALERT_MIN_BASELINE or recent_average > baseline - ALERT_DROP:
            return False
        if not self.store.take_alert_slot(team, channel, ALERT_EVERY, now):
            return False  # alerted recently (perhaps by another worker a moment ago)
        text = texts.get(lang, "alert").format(channel=channel, recent=recent_average,
                                               count=recent, baseline=baseline)
        key = f"mood-alert:{team}:{channel}:{int(now // ALERT_EVERY)}"
        try:
            self.replier.deliver(ReplyTarget(kind="channel", channel=channel), key, Reply(text))
        except TransientError:
            # Slack did not take it: give the slot back so the retry of this message may post.
            self.store.release_alert_slot(team, channel, now)
            raise
        log.info("mood alert posted in %s/%s", team, channel)
        return True

    # -- the Home tab --------------------------------------------------------------------

    def home(self, context: Context, lang: str) -> list[dict[str, Any]]:
        """The mood of the person's channels: where they wrote in the last 30 days, each over
        the last 7 days as `/mood` sees it, a private one's only for who wrote there."""
        if not context.user:
            return []
        now = time.time()
        # The person's direct conversation with the bot is heard too; it is not a channel.
        # One more than shown, to know whether there are more.
        # A private channel only while they still write there (within the days shown): one
        # they left a while ago is not theirs to read any more.
        recent = day_of(now - SUMMARY_DAYS * DAY)
        written = [w for w in self.store.channels_of(
            context.team, context.user, now - HOME_LOOKBACK_DAYS * DAY, HOME_CHANNELS + 2)
            if _ID.match(w.channel) and not w.channel.startswith("D")
            and (not w.private or w.last_day >= recent)]
        title = texts.get(lang, "home_title").format(days=SUMMARY_DAYS)
        if not written:
            return [SectionBlock(text=MarkdownTextObject(
                text=f"{title}\n{texts.get(lang, 'home_none')}")).to_dict()]
        lines = [title]
        for channel in written[:HOME_CHANNELS]:
            # A channel's id, checked above: Slack shows `<#C…>` as its name, to its members.
            subject = f"<#{channel.channel}>"
            # Private messages only where the person wrote while the channel was private:
            # they were in it. Within their own team, as every read.
            scope = Scope(context.team, channel=channel.channel,
                          include_private=channel.private)
            data = summarise(self.store, Request(scope, SUMMARY_DAYS, subject), now)
            if not data["messages"]:
                lines.append(texts.get(lang, "home_quiet").format(channel=subject,
                                                                  days=SUMMARY_DAYS))
                continue
            lines.append(texts.get(lang, "home_line").format(
                channel=subject, label=texts.label(lang, data["label"]),
                average=data["average"], messages=texts.messages(lang, data["messages"]),
                trend=texts.trend_mark(data["trend"])))
        if len(written) > HOME_CHANNELS:
            lines.append(texts.get(lang, "home_more").format(count=HOME_CHANNELS))
        footer = texts.get(lang, "home_footer").format(lookback=HOME_LOOKBACK_DAYS)
        return [SectionBlock(text=MarkdownTextObject(text="\n".join(lines))).to_dict(),
                ContextBlock(elements=[MarkdownTextObject(text=footer)]).to_dict()]

    # -- commands ------------------------------------------------------------------------

    def analyze(self, command: Command, context: Context) -> Reply:
        """Score a given text."""
        if not command.args.strip():
            return Reply(texts.get(command.lang, "empty"), {"error": "empty"})
        score = self.analyzer.score(command.args, fallback_lang=command.lang)
        text = texts.get(command.lang, "score").format(
            label=texts.label(command.lang, score.label), score=score.compound,
            lang=score.lang)
        return Reply(text, {"score": score.compound, "label": score.label,
                            "lang": score.lang})

    def summary(self, command: Command, context: Context) -> Reply:
        """The mood of a channel (or of the caller) over a period, with a chart."""
        lang = command.lang
        try:
            request = parse_request(command.args, context, lang)
        except UsageProblem as problem:
            return Reply(str(problem), {"error": "usage"})
        data = summarise(self.store, request, time.time())
        if not data["messages"]:
            return Reply(texts.get(lang, "none").format(subject=request.subject,
                                                        days=request.days), data)
        text = texts.summary(lang, data)
        if context.source == "api":
            return Reply(text, data)  # the series is the chart's data, as JSON
        days = [Day(d["day"], d["messages"], d["average"], d["positive"], d["negative"])
                for d in data["series"]]
        title = texts.get(lang, "chart_title").format(days=request.days)
        png = render(days, title, lang)
        # A slash command's answer is private to its caller: so is its chart.
        channel = (context.channel if context.source == "mention"
                   else self.replier.open_direct(context.user))
        name = f"mood-{request.subject.strip('<>#@')}-{request.days}d.png"
        return Reply(text, data, blocks=summary_blocks(text),
                     upload=Upload(channel=channel, filename=name, content=png, title=title,
                                   comment=""))

    def alerts(self, command: Command, context: Context) -> Reply:
        """`/mood alerts on|off`: opt the current channel in or out."""
        lang = command.lang
        word = command.args.strip().lower()
        if context.source not in {"slash", "mention"} or not context.channel:
            return Reply(texts.get(lang, "alerts_where"), {"error": "usage"})
        if word not in _ON | _OFF:
            return Reply(texts.get(lang, "alerts_usage"), {"error": "usage"})
        enabled = word in _ON
        self.store.set_alerts(context.team, context.channel, enabled, lang, context.user)
        key = "alerts_on" if enabled else "alerts_off"
        return Reply(texts.get(lang, key).format(channel=context.channel),
                     {"channel": context.channel, "alerts": enabled})


def summary_blocks(text: str) -> list[dict[str, Any]]:
    """A `/mood` summary as Block Kit: the headline, then its trend and low point in small
    print (`text`, built from ids and figures only, stays the fallback)."""
    headline, *details = text.split("\n")
    blocks = [SectionBlock(text=MarkdownTextObject(text=headline)).to_dict()]
    if details:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=line)
                                             for line in details]).to_dict())
    return blocks


def build_handlers(store: MoodStore, analyzer: Analyzer,
                   replier: SlackReplier) -> ServiceHandlers:
    """The sentiment service's handlers."""
    mood = Mood(store, analyzer, replier)
    return ServiceHandlers(
        commands={"analyze": mood.analyze, "summary": mood.summary, "alerts": mood.alerts},
        on_heard=mood.on_heard,
        home=mood.home,
    )

