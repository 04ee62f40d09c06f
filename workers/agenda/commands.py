"""What the agenda service understands: `/agenda`, `@bot remind me …` (a declaration only)."""

from estafeta.grammar import ServiceCommands, Shortcut, Verb, Words
from estafeta.interactions import CHOICE, DATE, TEXT, TIME, Form, Input

# What the form's "repeat" menu offers: the rules `workers.agenda.form` turns them into.
REPEATS = ("none", "daily", "weekdays", "weekly", "monthly")
TITLE_LIMIT = 200  # characters of an event's title typed in the form

# The add form: each input's name is its block_id and its action_id.
ADD_FORM = Form(inputs=(
    Input("title", TEXT, max_length=TITLE_LIMIT),
    Input("date", DATE, max_length=10),
    Input("time", TIME, max_length=5),
    Input("repeat", CHOICE, max_length=10, choices=REPEATS),
))

COMMANDS = ServiceCommands(
    service="agenda",
    names=Words(en=("agenda",)),
    slash_command="/agenda",
    verbs=(
        Verb("add", Words(en=("add",), es=("añade", "agrega"))),
        Verb("remind", Words(en=("remind",), es=("recuérdame",)), opens_mention=True),
        Verb("list", Words(en=("list",), es=("lista",))),
        Verb("next", Words(en=("next",), es=("siguiente", "próximo"))),
        Verb("search", Words(en=("search",), es=("busca",))),
        Verb("cancel", Words(en=("cancel",), es=("cancela",))),
        Verb("export", Words(en=("export",), es=("exporta",))),
    ),
    # Free text is an event to add: "/agenda standup every monday at 9".
    free_text_verb="add",
    # `/agenda` alone opens the add form (from Slack; an HTTP caller gets the help).
    empty_verb="form",
    actions=("agenda.cancel", "agenda.done", "agenda.snooze_10m", "agenda.snooze_1h",
             "agenda.snooze_tomorrow", "agenda.open_form"),
    # agenda.add: the add form's submission; agenda.new: the global shortcut that opens it.
    callbacks=("agenda.add",),
    # The lightning menu's "New event": the same form as `/agenda` alone.
    shortcuts=(Shortcut("agenda.new", "New event", "Add an event or a reminder to the agenda"),),
    forms={"agenda.add": ADD_FORM},
    home=True,
    scopes=("commands", "chat:write", "users:read", "im:write", "channels:read",
            "groups:read", "mpim:read", "im:read", "files:write"),
    overview={
        "en": "`agenda <what> <when>`, `remind me to <what> <when>` – events and reminders "
              "(`agenda help`)",
        "es": "`agenda <qué> <cuándo>`, `recuérdame <qué> <cuándo>` – eventos y "
              "recordatorios (`agenda ayuda`)",
    },
    help={
        "en": (
            "*agenda* – events and reminders, in plain English or Spanish.\n"
            "• `/agenda` – a form to add an event (also in the shortcuts menu and the Home "
            "tab)\n"
            "• `/agenda add <what> <when>` – e.g. `send the report tomorrow at 10am`, "
            "`standup every monday at 9`, `call Ana in 2 hours` (in a channel, the channel "
            "is reminded)\n"
            "• `/agenda remind me to <what> <when>` – a reminder by direct message\n"
            "• `/agenda list [today|tomorrow|week]`, `/agenda next`, `/agenda search <text>`\n"
            "• `/agenda cancel <id>` – yours, or as a workspace admin or the channel's creator\n"
            "• `/agenda export` – your events as an `.ics` file\n"
            "Times are in your Slack timezone. `/agenda help` shows this text."
        ),
        "es": (
            "*agenda* – eventos y recordatorios, en español o en inglés.\n"
            "• `/agenda` – un formulario para añadir un evento (también en el menú de atajos "
            "y en la pestaña Inicio)\n"
            "• `/agenda añade <qué> <cuándo>` – p. ej. `enviar el informe mañana a las 10`, "
            "`reunión de equipo todos los lunes a las 9`, `llamar a Ana dentro de 2 horas` "
            "(en un canal, se avisa al canal)\n"
            "• `/agenda recuérdame <qué> <cuándo>` – un recordatorio por mensaje directo\n"
            "• `/agenda lista [hoy|mañana|semana]`, `/agenda siguiente`, "
            "`/agenda busca <texto>`\n"
            "• `/agenda cancela <número>` – los tuyos, o como administrador del espacio o "
            "creador del canal\n"
            "• `/agenda exporta` – tus eventos en un archivo `.ics`\n"
            "Las horas van en tu zona horaria de Slack. `/agenda ayuda` muestra este texto."
        ),
    },
)
