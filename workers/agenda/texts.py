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
        # The add form, its buttons and the Home tab.
        "form_title": "New event",
        "form_submit": "Add",
        "form_close": "Cancel",
        "form_what": "What",
        "form_what_hint": "e.g. Send the report",
        "form_date": "Day",
        "form_time": "Time",
        "form_repeat": "Repeat",
        "repeat_none": "Does not repeat",
        "repeat_daily": "Every day",
        "repeat_weekdays": "Every weekday (Monday to Friday)",
        "repeat_weekly": "Every week, on that day",
        "repeat_monthly": "Every month, on that day",
        "form_opened": "The form is open.",
        "form_expired": "The form could not open in time. Please try `/agenda` again, or "
                        "type the event: `/agenda add send the report tomorrow at 10am`.",
        "form_failed": "I could not open the form (Slack answered `{error}`). Please type the "
                       "event instead: `/agenda add send the report tomorrow at 10am`.",
        "form_invalid": "Nothing was added: {problems}",
        "form_past": "That time has already passed.",
        "form_too_far": "That is too far ahead.",
        "button_cancel": "Cancel",
        "button_done": "Done",
        "button_snooze_10m": "10 min",
        "button_snooze_1h": "1 hour",
        "button_snooze_tomorrow": "Tomorrow",
        "done": "~{reminder}~\n:white_check_mark: Done – marked by {who}.",
        "snoozed": ":zzz: Snoozed: I'll remind about *{title}* again at {time}.",
        "snooze_gone": "That reminder is no longer active.",
        "home_title": "Your agenda",
        "home_none": "Nothing coming up. Add an event with the button, or type "
                     "`/agenda add …`.",
        "home_add": "Add an event",
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
        "form_title": "Nuevo evento",
        "form_submit": "Añadir",
        "form_close": "Cancelar",
        "form_what": "Qué",
        "form_what_hint": "p. ej. Enviar el informe",
        "form_date": "Día",
        "form_time": "Hora",
        "form_repeat": "Repetir",
        "repeat_none": "No se repite",
        "repeat_daily": "Todos los días",
        "repeat_weekdays": "De lunes a viernes",
        "repeat_weekly": "Cada semana, ese día",
        "repeat_monthly": "Cada mes, ese día",
        "form_opened": "El formulario está abierto.",
        "form_expired": "El formulario no pudo abrirse a tiempo. Vuelve a probar `/agenda`, o "
                        "escribe el evento: `/agenda añade enviar el informe mañana a las 10`.",
        "form_failed": "No pude abrir el formulario (Slack respondió `{error}`). Escribe el "
                       "evento: `/agenda añade enviar el informe mañana a las 10`.",
        "form_invalid": "No se ha añadido nada: {problems}",
        "form_past": "Esa hora ya ha pasado.",
        "form_too_far": "Eso queda demasiado lejos.",
        "button_cancel": "Cancelar",
        "button_done": "Hecho",
        "button_snooze_10m": "10 min",
        "button_snooze_1h": "1 hora",
        "button_snooze_tomorrow": "Mañana",
        "done": "~{reminder}~\n:white_check_mark: Hecho – lo marcó {who}.",
        "snoozed": ":zzz: Pospuesto: te recordaré *{title}* de nuevo a las {time}.",
        "snooze_gone": "Ese recordatorio ya no está activo.",
        "home_title": "Tu agenda",
        "home_none": "No tienes nada próximo. Añade un evento con el botón, o escribe "
                     "`/agenda añade …`.",
        "home_add": "Añadir un evento",
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
