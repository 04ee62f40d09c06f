"""What the agenda says, in English and Spanish."""

from __future__ import annotations

import re

from estafeta.mrkdwn import escape

# What a Slack conversation id looks like: only such an id is written back as a `<#C…>` link.
_CONVERSATION_ID = re.compile(r"[CGD][A-Z0-9]{1,30}")

_TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "add_usage": "Tell me what and when, e.g. `/agenda add send the report tomorrow at "
                     "10am` or `/agenda standup every monday at 9`.",
        "added": "Added `#{id}`: *{title}* – {when}.",
        "notify_channel": "I'll remind {channel} then.",
        "notify_dm": "I'll remind you by direct message.",
        "notify_none": "It is on the agenda (HTTP callers get no reminder message).",
        "channel_refused": "I can't remind {channel}: over HTTP I only post reminders in a "
                           "public channel I am a member of. Invite me there, or leave "
                           "`channel` out to keep the event without a reminder. Nothing was "
                           "added.",
        "channel_other_workspace": "I can't remind {channel}: over HTTP I only post "
                                   "reminders in the workspace your token belongs to, and "
                                   "I am installed in another one. Leave `channel` out to "
                                   "keep the event without a reminder. Nothing was added.",
        "list_usage": "Use `/agenda list`, `/agenda list today`, `/agenda list tomorrow` or "
                      "`/agenda list week`.",
        "list_today": "Today",
        "list_tomorrow": "Tomorrow",
        "list_week": "The next 7 days",
        "list_none": "*{heading}*: nothing on the agenda.",
        "more": "…and at least {count} more.",
        "next": "Next: {line}",
        "next_none": "Nothing coming up on your agenda.",
        "search_usage": "Give me words to look for: `/agenda search standup`.",
        "search": "Events matching “{text}”:",
        "search_none": "No upcoming event matches “{text}”.",
        "cancel_usage": "Give me the event's id: `/agenda cancel 12`.",
        "cancel_unknown": "I can't find an active event `#{id}` that you can see.",
        "cancel_denied": "Only the person who added `#{id}`, a workspace admin or the "
                         "channel's creator may cancel it.",
        "cancelled": "Cancelled `#{id}`: *{title}*.",
        "exported": "Your agenda ({count} events) is in our direct messages as "
                    "`estafeta-agenda.ics`.",
        "exported_one": "Your agenda (1 event) is in our direct messages as "
                        "`estafeta-agenda.ics`.",
        "export_api": "{count} events exported.",
        "export_api_one": "1 event exported.",
        "export_title": "My Estafeta agenda",
        "all_day": "(all day)",
    },
    "es": {
        "add_usage": "Dime qué y cuándo, p. ej. `/agenda añade enviar el informe mañana a "
                     "las 10` o `/agenda reunión de equipo todos los lunes a las 9`.",
        "added": "Añadido `#{id}`: *{title}* – {when}.",
        "notify_channel": "Avisaré en {channel}.",
        "notify_dm": "Te avisaré por mensaje directo.",
        "notify_none": "Está en la agenda (por HTTP no se envía recordatorio).",
        "channel_refused": "No puedo avisar en {channel}: por HTTP solo publico recordatorios "
                           "en un canal público del que sea miembro. Invítame a él, o no "
                           "indiques `channel` para guardar el evento sin recordatorio. No se "
                           "ha añadido nada.",
        "channel_other_workspace": "No puedo avisar en {channel}: por HTTP solo publico "
                                   "recordatorios en el espacio de trabajo de tu token, y "
                                   "estoy instalado en otro. No indiques `channel` para "
                                   "guardar el evento sin recordatorio. No se ha añadido "
                                   "nada.",
        "list_usage": "Usa `/agenda lista`, `/agenda lista hoy`, `/agenda lista mañana` o "
                      "`/agenda lista semana`.",
        "list_today": "Hoy",
        "list_tomorrow": "Mañana",
        "list_week": "Los próximos 7 días",
        "list_none": "*{heading}*: nada en la agenda.",
        "more": "…y al menos {count} más.",
        "next": "Lo siguiente: {line}",
        "next_none": "No tienes nada próximo en la agenda.",
        "search_usage": "Dime qué buscar: `/agenda busca reunión`.",
        "search": "Eventos que coinciden con «{text}»:",
        "search_none": "Ningún evento próximo coincide con «{text}».",
        "cancel_usage": "Dime el número del evento: `/agenda cancela 12`.",
        "cancel_unknown": "No encuentro un evento activo `#{id}` que puedas ver.",
        "cancel_denied": "Solo quien añadió `#{id}`, un administrador del espacio o quien "
                         "creó el canal puede cancelarlo.",
        "cancelled": "Cancelado `#{id}`: *{title}*.",
        "exported": "Tu agenda ({count} eventos) está en nuestros mensajes directos como "
                    "`estafeta-agenda.ics`.",
        "exported_one": "Tu agenda (1 evento) está en nuestros mensajes directos como "
                        "`estafeta-agenda.ics`.",
        "export_api": "{count} eventos exportados.",
        "export_api_one": "1 evento exportado.",
        "export_title": "Mi agenda de Estafeta",
        "all_day": "(todo el día)",
    },
}

_WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom"),
}


def get(lang: str, key: str) -> str:
    """The text `key` in `lang` (English when the language is unknown)."""
    return _TEXTS.get(lang, _TEXTS["en"])[key]


def counted(lang: str, key: str, count: int) -> str:
    """The text `key` for `count` things: its `_one` form, if it has one, when `count` is 1."""
    texts = _TEXTS.get(lang, _TEXTS["en"])
    # Both languages use the plural for every count but one, zero included.
    return texts.get(f"{key}_one", texts[key]) if count == 1 else texts[key]


def weekday(lang: str, index: int) -> str:
    """Short weekday name, Monday = 0."""
    return _WEEKDAYS.get(lang, _WEEKDAYS["en"])[index]


def is_conversation_id(text: str) -> bool:
    """Whether `text` has the form of a Slack channel, group or DM id."""
    return _CONVERSATION_ID.fullmatch(text) is not None


def channel_link(channel: str) -> str:
    """`<#C…>` for a stored conversation id (markup the bot builds); anything else as text."""
    return f"<#{channel}>" if is_conversation_id(channel) else escape(channel)
