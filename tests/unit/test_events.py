from gateway.events import Hear, Ignore, RunCommand, classify
from slacksim.signing import mention_event, message_event


def _callback(event: dict, team: str = "T1") -> dict:
    return {"type": "event_callback", "team_id": team, "event_id": "Ev1", "event": event,
            "authorizations": [{"user_id": "UBOT", "is_bot": True}]}


def test_a_person_message_is_heard() -> None:
    action = classify(_callback(message_event("hola equipo", channel="C9", user="U7", ts="1.5")))
    assert isinstance(action, Hear)
    assert action.message.team == "T1"
    assert (action.message.channel, action.message.ts, action.message.user) == ("C9", "1.5", "U7")
    assert action.message.text == "hola equipo"


def test_bot_messages_and_own_messages_are_ignored() -> None:
    assert isinstance(classify(_callback(message_event("x", bot_id="B1"))), Ignore)
    assert isinstance(classify(_callback(message_event("x", subtype="bot_message"))), Ignore)
    assert isinstance(classify(_callback(message_event("x", user="UBOT"))), Ignore)


def test_edit_is_heard_with_new_text_and_delete_with_its_ts() -> None:
    edit = classify(_callback({
        "type": "message", "subtype": "message_changed", "channel": "C1",
        "channel_type": "channel",
        "message": {"user": "U1", "text": "fixed typo", "ts": "10.1"},
    }))
    assert isinstance(edit, Hear)
    assert (edit.message.ts, edit.message.text, edit.message.subtype) == (
        "10.1", "fixed typo", "message_changed")
    deleted = classify(_callback({
        "type": "message", "subtype": "message_deleted", "channel": "C1", "deleted_ts": "10.1",
    }))
    assert isinstance(deleted, Hear)
    assert deleted.message.deleted and deleted.message.ts == "10.1"


def test_channel_join_and_unknown_events_are_ignored() -> None:
    assert isinstance(classify(_callback(message_event("x", subtype="channel_join"))), Ignore)
    assert isinstance(classify(_callback({"type": "reaction_added"})), Ignore)
    assert isinstance(classify({"type": "event_callback", "event": "nope"}), Ignore)


def test_mention_becomes_a_command_answered_in_its_thread() -> None:
    action = classify(_callback(mention_event("busca despliegue", channel="C3", ts="5.5")))
    assert isinstance(action, RunCommand)
    assert action.command.service == "search"
    assert action.command.lang == "es"
    assert action.reply.kind == "thread"
    assert (action.reply.channel, action.reply.thread_ts) == ("C3", "5.5")


def test_mention_inside_a_thread_answers_in_that_thread() -> None:
    action = classify(_callback(mention_event("mood", ts="7.7", thread_ts="6.6")))
    assert isinstance(action, RunCommand)
    assert action.reply.thread_ts == "6.6"


def test_a_mention_reaches_the_services_as_plain_text() -> None:
    # Slack escapes `&`, `<`, `>` in what people type; the services receive it unescaped once,
    # and escape it once when they write it back.
    action = classify(_callback(mention_event("agenda Q&amp;A &lt;!here&gt; tomorrow at 10")))
    assert isinstance(action, RunCommand)
    assert action.command.args == "Q&A <!here> tomorrow at 10"


def test_a_direct_message_to_the_bot_is_a_command_answered_there_and_not_heard() -> None:
    action = classify(_callback(message_event("busca despliegue", channel="D0ANA", user="U7",
                                              channel_type="im", ts="7.5")))
    assert isinstance(action, RunCommand)
    assert (action.command.service, action.command.lang) == ("search", "es")
    assert (action.context.channel, action.context.user, action.context.channel_type) == (
        "D0ANA", "U7", "im")
    assert (action.reply.kind, action.reply.channel) == ("channel", "D0ANA")
    in_thread = classify(_callback(message_event("mood", channel="D0ANA", channel_type="im",
                                                 thread_ts="7.5")))
    assert isinstance(in_thread, RunCommand)
    assert (in_thread.reply.kind, in_thread.reply.thread_ts) == ("thread", "7.5")
    # Anything else is the general help, never silence; the bot's own words stay ignored.
    hello = classify(_callback(message_event("hello there", channel="D0ANA", channel_type="im")))
    assert isinstance(hello, RunCommand) and hello.command.verb == "overview"
    own = classify(_callback(message_event("x", channel="D0ANA", channel_type="im",
                                           user="UBOT")))
    assert isinstance(own, Ignore)


def test_edits_in_the_bots_direct_messages_are_not_heard_but_deletions_are() -> None:
    edit = classify(_callback({
        "type": "message", "subtype": "message_changed", "channel": "D0ANA",
        "channel_type": "im", "message": {"user": "U1", "text": "busca x", "ts": "10.1"},
    }))
    assert isinstance(edit, Ignore)
    deleted = classify(_callback({
        "type": "message", "subtype": "message_deleted", "channel": "D0ANA",
        "channel_type": "im", "deleted_ts": "10.1",
    }))
    assert isinstance(deleted, Hear) and deleted.message.deleted
