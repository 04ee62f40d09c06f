"""The agenda's date parser: a table of Spanish and English phrases, DST, echo and questions.

Every expectation in `PHRASES` is what a careful person would read in the phrase, given the
rules in the module docstring of `workers.agenda.when`. Rows the parser gets wrong stay in the
table as strict xfails, so the published pass rate is honest and a fix is noticed.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil import rrule as dateutil_rrule  # type: ignore[import-untyped]

from workers.agenda.when import (
    DEFAULT_HOUR,
    REASONS,
    RULE_WINDOW_YEARS,
    RuleError,
    Unclear,
    When,
    check_rule,
    describe,
    next_occurrence,
    parse_event,
)

MADRID = "Europe/Madrid"
NEW_YORK = "America/New_York"
MEXICO = "America/Mexico_City"
TOKYO = "Asia/Tokyo"
UTC = "UTC"


def at(moment: str, tz: str) -> datetime:
    """An aware datetime from local wall time, e.g. at("2026-11-20 09:00", MADRID)."""
    return datetime.strptime(moment, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(tz))


FRI = at("2026-11-20 09:00", MADRID)  # a Friday
THU = at("2026-11-19 09:00", MADRID)
TUE = at("2026-11-24 09:00", MADRID)
WEEKDAYS = "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"

Expected = tuple[str, str, str | None] | str


def ok(lang: str, phrase: str, now: datetime, tz: str, what: str, start: str,
       rrule: str | None = None, *, fails: str | None = None) -> Any:
    """A phrase that must parse: the title, the local start and the RRULE."""
    return _row(lang, phrase, now, tz, (what, start, rrule), fails)


def no(lang: str, phrase: str, now: datetime, tz: str, reason: str, *,
       fails: str | None = None) -> Any:
    """A phrase that must be refused, for `reason`."""
    assert reason in REASONS
    return _row(lang, phrase, now, tz, reason, fails)


def _row(lang: str, phrase: str, now: datetime, tz: str, expected: Expected,
         fails: str | None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=fails)] if fails else []
    return pytest.param(lang, phrase, now, tz, expected, marks=marks, id=f"{lang}: {phrase}")


PHRASES = [
    # English, on Friday 20 November 2026 at 09:00 in Madrid.
    ok("en", "send the report tomorrow at 10am", FRI, MADRID,
       "send the report", "2026-11-21 10:00"),
    ok("en", "remind me to send the report tomorrow at 10am", FRI, MADRID,
       "send the report", "2026-11-21 10:00"),
    ok("en", "standup every monday at 9", FRI, MADRID,
       "standup", "2026-11-23 09:00", "FREQ=WEEKLY;BYDAY=MO"),
    ok("en", "gym every day at 8:30", FRI, MADRID, "gym", "2026-11-21 08:30", "FREQ=DAILY"),
    ok("en", "standup every weekday at 9:15", FRI, MADRID, "standup", "2026-11-20 09:15",
       WEEKDAYS),
    ok("en", "payroll every 2 weeks on friday at 16:00", FRI, MADRID,
       "payroll", "2026-11-20 16:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR"),
    ok("en", "invoice every month on the 15th", FRI, MADRID,
       "invoice", "2026-12-15 09:00", "FREQ=MONTHLY;BYMONTHDAY=15"),
    ok("en", "mom's birthday every year on march 3", FRI, MADRID,
       "mom's birthday", "2027-03-03 09:00", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3"),
    ok("en", "call mom in 2 hours", FRI, MADRID, "call mom", "2026-11-20 11:00"),
    ok("en", "renew the passport in 3 days", FRI, MADRID,
       "renew the passport", "2026-11-23 09:00"),
    ok("en", "dentist next friday at 5pm", FRI, MADRID, "dentist", "2026-11-27 17:00"),
    ok("en", "lunch on december 3rd at noon", FRI, MADRID, "lunch", "2026-12-03 12:00"),
    ok("en", "deploy the app 2026-12-03 14:00", FRI, MADRID, "deploy the app", "2026-12-03 14:00"),
    ok("en", "call dad tonight", FRI, MADRID, "call dad", "2026-11-20 20:00"),
    ok("en", "review the budget this afternoon", FRI, MADRID,
       "review the budget", "2026-11-20 15:00"),
    ok("en", "run the backup at midnight", FRI, MADRID, "run the backup", "2026-11-21 00:00"),
    ok("en", "team meeting monday", FRI, MADRID, "team meeting", "2026-11-23 09:00"),
    ok("en", "call the bank at half past 10", FRI, MADRID, "call the bank", "2026-11-20 10:30"),
    ok("en", "call the bank at quarter to 9", FRI, MADRID, "call the bank", "2026-11-21 08:45"),
    ok("en", "demo this friday at 11", FRI, MADRID, "demo", "2026-11-20 11:00"),
    ok("en", "demo friday next week at 11", FRI, MADRID, "demo", "2026-11-27 11:00"),
    ok("en", "water the plants every 2 days at 7pm", FRI, MADRID,
       "water the plants", "2026-11-20 19:00", "FREQ=DAILY;INTERVAL=2"),
    ok("en", "team lunch the first monday of every month", FRI, MADRID,
       "team lunch", "2026-12-07 09:00", "FREQ=MONTHLY;BYDAY=1MO"),
    ok("en", "meeting in an hour", FRI, MADRID, "meeting", "2026-11-20 10:00"),
    ok("en", "pay taxes on april 30 at 10:00", FRI, MADRID, "pay taxes", "2027-04-30 10:00"),
    ok("en", "office party on 25/12 at 8pm", FRI, MADRID, "office party", "2026-12-25 20:00"),
    ok("en", "doctor at 7", FRI, MADRID, "doctor", "2026-11-21 07:00"),
    ok("en", "dinner tomorrow night at 9", FRI, MADRID, "dinner", "2026-11-21 21:00"),
    ok("en", "check the oven at 2:15 in the afternoon", FRI, MADRID,
       "check the oven", "2026-11-20 14:15"),
    ok("en", "gym tomorrow morning", FRI, MADRID, "gym", "2026-11-21 09:00"),
    ok("en", "clean the kitchen saturdays at 10", FRI, MADRID,
       "clean the kitchen", "2026-11-21 10:00", "FREQ=WEEKLY;BYDAY=SA"),
    ok("en", "weekly review every sunday evening", FRI, MADRID,
       "weekly review", "2026-11-22 19:00", "FREQ=WEEKLY;BYDAY=SU"),
    ok("en", "SUBMIT THE FORM TOMORROW AT 10AM", FRI, MADRID,
       "SUBMIT THE FORM", "2026-11-21 10:00"),
    ok("en", "meeting today at 6pm", FRI, MADRID, "meeting", "2026-11-20 18:00"),
    ok("en", "call Ana the day after tomorrow at noon", FRI, MADRID,
       "call Ana", "2026-11-22 12:00"),
    ok("en", "stretch every 2 hours", FRI, MADRID,
       "stretch", "2026-11-20 11:00", "FREQ=HOURLY;INTERVAL=2"),
    ok("en", "sprint retro the last friday of the month", FRI, MADRID,
       "sprint retro", "2026-11-27 09:00", "FREQ=MONTHLY;BYDAY=-1FR"),
    ok("en", "renew the domain on march 3, 2027 at 9am", FRI, MADRID,
       "renew the domain", "2027-03-03 09:00"),
    ok("en", "dinner with Ana at 7:30 tonight", FRI, MADRID, "dinner with Ana", "2026-11-20 19:30"),
    ok("en", "call the office at five pm tomorrow", FRI, MADRID,
       "call the office", "2026-11-21 17:00"),
    ok("en", "yoga every tuesday and thursday at 6:30pm", FRI, MADRID,
       "yoga", "2026-11-24 18:30", "FREQ=WEEKLY;BYDAY=TU,TH"),
    ok("en", "standup every monday until december 31 at 9:30", FRI, MADRID,
       "standup", "2026-11-23 09:30", "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T225959Z"),
    ok("en", "call mom in 1 hour and 30 minutes", FRI, MADRID, "call mom", "2026-11-20 10:30"),
    ok("en", "dentist thursday the 26th at 10", FRI, MADRID, "dentist", "2026-11-26 10:00"),
    ok("en", "pick up the kids at 4:30pm", FRI, MADRID, "pick up the kids", "2026-11-20 16:30"),
    ok("en", "call the vet on monday at 11am", FRI, MADRID, "call the vet", "2026-11-23 11:00"),
    ok("en", "book flights next monday", FRI, MADRID, "book flights", "2026-11-23 09:00"),
    ok("en", "feed the cat every evening at 6", FRI, MADRID,
       "feed the cat", "2026-11-20 18:00", "FREQ=DAILY"),
    ok("en", "team sync every thursday at 10:30am", FRI, MADRID,
       "team sync", "2026-11-26 10:30", "FREQ=WEEKLY;BYDAY=TH"),
    ok("en", "renew insurance on jan 15", FRI, MADRID, "renew insurance", "2027-01-15 09:00"),
    ok("en", "submit timesheet by friday 5pm", THU, MADRID, "submit timesheet", "2026-11-20 17:00"),
    ok("en", "standup at 9:45 every weekday", FRI, MADRID, "standup", "2026-11-20 09:45",
       WEEKDAYS),
    ok("en", "call grandma on sunday afternoon", FRI, MADRID, "call grandma", "2026-11-22 15:00"),
    ok("en", "dentist appointment on the 3rd of december at 9:30", FRI, MADRID,
       "dentist appointment", "2026-12-03 09:30"),
    ok("en", "meeting at 8 tomorrow", FRI, MADRID, "meeting", "2026-11-21 08:00"),
    ok("en", "take medicine every 8 hours", FRI, MADRID,
       "take medicine", "2026-11-20 17:00", "FREQ=HOURLY;INTERVAL=8"),
    ok("en", "buy gifts on saturday morning", FRI, MADRID, "buy gifts", "2026-11-21 09:00"),
    ok("en", "call Peter on wednesday at 1:30pm", FRI, MADRID, "call Peter", "2026-11-25 13:30"),
    # English refusals.
    no("en", "call mom at 5", FRI, MADRID, "ambiguous_hour"),
    no("en", "call the plumber at 5:30", FRI, MADRID, "ambiguous_hour"),
    no("en", "meeting on 3/4", FRI, MADRID, "ambiguous_date"),
    no("en", "call the plumber yesterday", FRI, MADRID, "past"),
    no("en", "meeting today at 8", FRI, MADRID, "past"),
    no("en", "planning next week", FRI, MADRID, "ambiguous_date"),
    no("en", "tomorrow at 10am", FRI, MADRID, "no_title"),
    no("en", "remind me to call mom", FRI, MADRID, "no_time"),
    no("en", "trip to Japan in 10 years", FRI, MADRID, "too_far"),
    no("en", "submit the form on 31 november", FRI, MADRID, "ambiguous_date"),
    no("en", "demo next friday at 11", TUE, MADRID, "ambiguous_date"),  # the 27th or 4th?
    no("en", "deploy friday at midnight", FRI, MADRID, "ambiguous_date"),
    no("en", "pay the rent every month", FRI, MADRID, "ambiguous_date"),
    no("en", "send the invoice on november 18", FRI, MADRID, "past"),
    # English, other timezones; `now` need not be in the user's zone.
    ok("en", "standup every monday at 9:30am", at("2026-11-20 09:00", NEW_YORK), NEW_YORK,
       "standup", "2026-11-23 09:30", "FREQ=WEEKLY;BYDAY=MO"),
    ok("en", "call the Osaka office tomorrow at 10am", at("2026-11-20 20:00", UTC), TOKYO,
       "call the Osaka office", "2026-11-22 10:00"),  # it is already Saturday in Tokyo
    ok("en", "rotate the keys at 18:00", at("2026-11-20 09:00", UTC), UTC,
       "rotate the keys", "2026-11-20 18:00"),
    ok("en", "dentist on december 3rd at 4pm", at("2026-11-20 09:00", MEXICO), MEXICO,
       "dentist", "2026-12-03 16:00"),
    ok("en", "take out the trash at 7am", at("2026-11-20 23:30", NEW_YORK), NEW_YORK,
       "take out the trash", "2026-11-21 07:00"),
    # English around daylight-saving changes.
    ok("en", "meeting on november 2 at 10am", at("2026-10-28 09:00", NEW_YORK), NEW_YORK,
       "meeting", "2026-11-02 10:00"),
    ok("en", "standup every monday at 9", at("2026-03-04 09:00", NEW_YORK), NEW_YORK,
       "standup", "2026-03-09 09:00", "FREQ=WEEKLY;BYDAY=MO"),
    ok("en", "backup every sunday at 1:30am", at("2026-10-28 12:00", NEW_YORK), NEW_YORK,
       "backup", "2026-11-01 01:30", "FREQ=WEEKLY;BYDAY=SU"),
    ok("en", "deploy in 24 hours", at("2026-10-24 09:00", MADRID), MADRID,
       "deploy", "2026-10-25 08:00"),  # 24 hours elapse; the clocks went back one
    ok("en", "deploy in 1 day", at("2026-10-24 09:00", MADRID), MADRID,
       "deploy", "2026-10-25 09:00"),
    # English the parser does not read yet.
    ok("en", "meeting a week from friday", TUE, MADRID, "meeting", "2026-12-04 09:00",
       fails="'a week from <day>' is not in the grammar"),
    ok("en", "standup every day at 9 except weekends", FRI, MADRID,
       "standup", "2026-11-23 09:00", WEEKDAYS, fails="exceptions are not in the grammar"),
    ok("en", "pay the bill on the 1st of next month", FRI, MADRID,
       "pay the bill", "2026-12-01 09:00", fails="'of next month' stays in the title"),
    # Spanish, on Friday 20 November 2026 at 09:00 in Madrid.
    ok("es", "recuérdame enviar el informe mañana a las 10", FRI, MADRID,
       "enviar el informe", "2026-11-21 10:00"),
    ok("es", "reunión de equipo todos los lunes a las 9", FRI, MADRID,
       "reunión de equipo", "2026-11-23 09:00", "FREQ=WEEKLY;BYDAY=MO"),
    ok("es", "leer cada día a las 8", FRI, MADRID, "leer", "2026-11-21 08:00", "FREQ=DAILY"),
    ok("es", "standup de lunes a viernes a las 9", FRI, MADRID,
       "standup", "2026-11-23 09:00", WEEKDAYS),
    ok("es", "pagar el alquiler cada mes el día 1 a las 10", FRI, MADRID,
       "pagar el alquiler", "2026-12-01 10:00", "FREQ=MONTHLY;BYMONTHDAY=1"),
    ok("es", "yoga cada martes y jueves a las 18h", FRI, MADRID,
       "yoga", "2026-11-24 18:00", "FREQ=WEEKLY;BYDAY=TU,TH"),
    ok("es", "llamar a mamá dentro de 2 horas", FRI, MADRID, "llamar a mamá", "2026-11-20 11:00"),
    ok("es", "sacar la ropa de la lavadora en 30 minutos", FRI, MADRID,
       "sacar la ropa de la lavadora", "2026-11-20 09:30"),
    ok("es", "dentista pasado mañana", FRI, MADRID, "dentista", "2026-11-22 09:00"),
    ok("es", "cena el próximo viernes a las 5 de la tarde", FRI, MADRID,
       "cena", "2026-11-27 17:00"),
    ok("es", "comida el 3 de diciembre a las 12:30", FRI, MADRID, "comida", "2026-12-03 12:30"),
    ok("es", "llamar a papá esta noche", FRI, MADRID, "llamar a papá", "2026-11-20 20:00"),
    ok("es", "revisar el presupuesto esta tarde", FRI, MADRID,
       "revisar el presupuesto", "2026-11-20 15:00"),
    ok("es", "comer con Ana a mediodía", FRI, MADRID, "comer con Ana", "2026-11-20 12:00"),
    ok("es", "hacer la copia de seguridad a medianoche", FRI, MADRID,
       "hacer la copia de seguridad", "2026-11-21 00:00"),
    ok("es", "reunión el lunes", FRI, MADRID, "reunión", "2026-11-23 09:00"),
    ok("es", "llamar al banco a las 9 menos cuarto", FRI, MADRID,
       "llamar al banco", "2026-11-21 08:45"),
    ok("es", "llamar al banco a las 10 y cuarto", FRI, MADRID,
       "llamar al banco", "2026-11-20 10:15"),
    ok("es", "demo este viernes a las 11", FRI, MADRID, "demo", "2026-11-20 11:00"),
    ok("es", "demo el viernes que viene a las 11", FRI, MADRID, "demo", "2026-11-27 11:00"),
    ok("es", "demo el viernes de la semana que viene a las 11", FRI, MADRID,
       "demo", "2026-11-27 11:00"),
    ok("es", "regar las plantas cada 3 días a las 19:00", FRI, MADRID,
       "regar las plantas", "2026-11-20 19:00", "FREQ=DAILY;INTERVAL=3"),
    ok("es", "comida de equipo el primer lunes de cada mes", FRI, MADRID,
       "comida de equipo", "2026-12-07 09:00", "FREQ=MONTHLY;BYDAY=1MO"),
    ok("es", "reunión en media hora", FRI, MADRID, "reunión", "2026-11-20 09:30"),
    ok("es", "pagar impuestos el 30 de abril a las 10:00", FRI, MADRID,
       "pagar impuestos", "2027-04-30 10:00"),
    ok("es", "MAÑANA a las 10 REUNIÓN CON EL EQUIPO", FRI, MADRID,
       "REUNIÓN CON EL EQUIPO", "2026-11-21 10:00"),
    ok("es", "reunion manana a las 10", FRI, MADRID, "reunion", "2026-11-21 10:00"),
    ok("es", "cena el proximo viernes a las 9 de la noche", FRI, MADRID,
       "cena", "2026-11-27 21:00"),
    ok("es", "gimnasio mañana por la mañana", FRI, MADRID, "gimnasio", "2026-11-21 09:00"),
    ok("es", "limpieza los sábados a las 10", FRI, MADRID,
       "limpieza", "2026-11-21 10:00", "FREQ=WEEKLY;BYDAY=SA"),
    ok("es", "revisión cada dos semanas el jueves a las 12", FRI, MADRID,
       "revisión", "2026-11-26 12:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH"),
    ok("es", "dentista el día 15", FRI, MADRID, "dentista", "2026-12-15 09:00"),
    ok("es", "estirar cada 30 minutos", FRI, MADRID,
       "estirar", "2026-11-20 09:30", "FREQ=MINUTELY;INTERVAL=30"),
    ok("es", "renovar el pasaporte en 2 semanas", FRI, MADRID,
       "renovar el pasaporte", "2026-12-04 09:00"),
    ok("es", "fiesta el 24/12 a las 21:30", FRI, MADRID, "fiesta", "2026-12-24 21:30"),
    ok("es", "llamar a Tokio a las 3 de la madrugada", FRI, MADRID,
       "llamar a Tokio", "2026-11-21 03:00"),
    ok("es", "cumpleaños de Ana todos los años el 3 de marzo", FRI, MADRID,
       "cumpleaños de Ana", "2027-03-03 09:00", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3"),
    ok("es", "recuérdame que tengo que llamar al fontanero el próximo viernes a las 5 de la tarde",
       FRI, MADRID, "tengo que llamar al fontanero", "2026-11-27 17:00"),
    ok("es", "reunión mañana viernes a las 10", THU, MADRID, "reunión", "2026-11-20 10:00"),
    ok("es", "cena el viernes 27 de noviembre a las 21:00", FRI, MADRID,
       "cena", "2026-11-27 21:00"),
    ok("es", "cena a las ocho y media de la tarde", FRI, MADRID, "cena", "2026-11-20 20:30"),
    ok("es", "ir al médico el martes por la tarde", FRI, MADRID,
       "ir al médico", "2026-11-24 15:00"),
    ok("es", "standup todos los lunes hasta el 31 de diciembre a las 9:30", FRI, MADRID,
       "standup", "2026-11-23 09:30", "FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T225959Z"),
    ok("es", "dentista el jueves 26 a las 10", FRI, MADRID, "dentista", "2026-11-26 10:00"),
    ok("es", "llamar al técnico en 1 hora y 20 minutos", FRI, MADRID,
       "llamar al técnico", "2026-11-20 10:20"),
    ok("es", "recoger a los niños a las 16:30", FRI, MADRID,
       "recoger a los niños", "2026-11-20 16:30"),
    ok("es", "llamar al veterinario el lunes a las 11", FRI, MADRID,
       "llamar al veterinario", "2026-11-23 11:00"),
    ok("es", "dar de comer al gato todas las tardes a las 6", FRI, MADRID,
       "dar de comer al gato", "2026-11-20 18:00", "FREQ=DAILY"),
    ok("es", "reunión de seguimiento todos los jueves a las 10:30", FRI, MADRID,
       "reunión de seguimiento", "2026-11-26 10:30", "FREQ=WEEKLY;BYDAY=TH"),
    ok("es", "renovar el seguro el 15 de enero", FRI, MADRID,
       "renovar el seguro", "2027-01-15 09:00"),
    ok("es", "entregar la hoja de horas el viernes a las 17:00", THU, MADRID,
       "entregar la hoja de horas", "2026-11-20 17:00"),
    ok("es", "llamar a la abuela el domingo por la tarde", FRI, MADRID,
       "llamar a la abuela", "2026-11-22 15:00"),
    ok("es", "cita con el dentista el 3 de diciembre a las 9 y media", FRI, MADRID,
       "cita con el dentista", "2026-12-03 09:30"),
    ok("es", "reunión mañana a las 8", FRI, MADRID, "reunión", "2026-11-21 08:00"),
    ok("es", "tomar la pastilla cada 8 horas", FRI, MADRID,
       "tomar la pastilla", "2026-11-20 17:00", "FREQ=HOURLY;INTERVAL=8"),
    ok("es", "comprar regalos el sábado por la mañana", FRI, MADRID,
       "comprar regalos", "2026-11-21 09:00"),
    ok("es", "llamar a Pedro el miércoles a las 13:30", FRI, MADRID,
       "llamar a Pedro", "2026-11-25 13:30"),
    ok("es", "llamar al seguro en 3 horas", FRI, MADRID, "llamar al seguro", "2026-11-20 12:00"),
    ok("es", "recuérdame que tengo reunión con Marta el martes a las 12", FRI, MADRID,
       "tengo reunión con Marta", "2026-11-24 12:00"),
    ok("es", "pagar la hipoteca el día 5 de cada mes", FRI, MADRID,
       "pagar la hipoteca", "2026-12-05 09:00", "FREQ=MONTHLY;BYMONTHDAY=5"),
    ok("es", "sacar al perro todas las noches a las 10", FRI, MADRID,
       "sacar al perro", "2026-11-20 22:00", "FREQ=DAILY"),
    # Spanish refusals.
    no("es", "llamar a mamá a las 5", FRI, MADRID, "ambiguous_hour"),
    no("es", "llamar a mamá a las 5 y media", FRI, MADRID, "ambiguous_hour"),
    no("es", "llamar a Luis a las 4", FRI, MADRID, "ambiguous_hour"),
    no("es", "reunión el 3/4", FRI, MADRID, "ambiguous_date"),
    no("es", "llamar al fontanero ayer", FRI, MADRID, "past"),
    no("es", "reunión hoy a las 8", FRI, MADRID, "past"),
    no("es", "reunión la semana que viene", FRI, MADRID, "ambiguous_date"),
    no("es", "mañana a las 10", FRI, MADRID, "no_title"),
    no("es", "recuérdame llamar a mamá", FRI, MADRID, "no_time"),
    no("es", "viaje a Japón dentro de 6 años", FRI, MADRID, "too_far"),
    no("es", "reunión mañana jueves a las 10", FRI, MADRID, "ambiguous_date"),  # it is Saturday
    no("es", "pagar el alquiler todos los meses", FRI, MADRID, "ambiguous_date"),
    no("es", "factura el 3 de marzo de 2025", FRI, MADRID, "past"),
    no("es", "reunión en diciembre", FRI, MADRID, "ambiguous_date"),
    no("es", "entregar el informe el 31/11", FRI, MADRID, "ambiguous_date"),
    # Spanish, other timezones.
    ok("es", "junta con el equipo el lunes a las 10", at("2026-11-20 09:00", MEXICO), MEXICO,
       "junta con el equipo", "2026-11-23 10:00"),
    ok("es", "tomar la medicina cada día a las 8 de la noche", at("2026-11-20 09:00", MEXICO),
       MEXICO, "tomar la medicina", "2026-11-20 20:00", "FREQ=DAILY"),
    ok("es", "llamar a la oficina de Tokio esta tarde a las 4", at("2026-11-20 16:00", UTC),
       TOKYO, "llamar a la oficina de Tokio", "2026-11-21 16:00"),  # Saturday 01:00 in Tokyo
    ok("es", "rotar las claves a las 18:00", at("2026-11-20 09:00", UTC), UTC,
       "rotar las claves", "2026-11-20 18:00"),
    # Spanish around daylight-saving changes.
    ok("es", "reunión el lunes 26 de octubre a las 9", at("2026-10-22 09:00", MADRID), MADRID,
       "reunión", "2026-10-26 09:00"),
    ok("es", "copia de seguridad todos los domingos a las 2:30 de la madrugada",
       at("2026-03-25 09:00", MADRID), MADRID, "copia de seguridad", "2026-03-29 03:30",
       "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30"),  # 02:30 does not exist that night
    ok("es", "standup todos los lunes a las 9", at("2026-10-22 09:00", MADRID), MADRID,
       "standup", "2026-10-26 09:00", "FREQ=WEEKLY;BYDAY=MO"),
    # Spanish the parser does not read yet.
    ok("es", "cita el primer martes de diciembre", FRI, MADRID, "cita", "2026-12-01 09:00",
       fails="'the Nth weekday of <month>' only exists as a recurrence"),
    ok("es", "regar las plantas un día sí y otro no a las 8", FRI, MADRID,
       "regar las plantas", "2026-11-21 08:00", "FREQ=DAILY;INTERVAL=2",
       fails="'un día sí y otro no' is not in the grammar"),
    ok("es", "pagar la luz el 1 del mes que viene", FRI, MADRID, "pagar la luz",
       "2026-12-01 09:00", fails="'del mes que viene' after a day number is not read"),
]


def _other(lang: str) -> str:
    return "es" if lang == "en" else "en"


@pytest.mark.parametrize(("lang", "phrase", "now", "tz", "expected"), PHRASES)
def test_phrase(lang: str, phrase: str, now: datetime, tz: str, expected: Expected) -> None:
    # The hint is the wrong language on purpose: the phrase must decide.
    if isinstance(expected, str):
        with pytest.raises(Unclear) as caught:
            parse_event(phrase, now, tz, lang=_other(lang))
        assert caught.value.reason == expected
        assert caught.value.lang == lang
        assert caught.value.question(lang)
        return
    parsed = parse_event(phrase, now, tz, lang=_other(lang))
    what, start, rrule = expected
    assert (parsed.what, f"{parsed.when.start:%Y-%m-%d %H:%M}", parsed.when.rrule) == (
        what, start, rrule)
    assert parsed.when.start.tzinfo == ZoneInfo(tz)
    assert parsed.when.start > now
    assert parsed.lang == lang


def test_the_table_is_big_and_balanced() -> None:
    languages = [row.values[0] for row in PHRASES]
    assert len(PHRASES) >= 90
    assert abs(languages.count("en") - languages.count("es")) <= 2


# ---------------------------------------------------------------------------------------------
# Daylight saving: repeating events keep their wall-clock time.


def _occurrences(when: When, count: int) -> list[str]:
    found = [when.start]
    while len(found) < count:
        following = next_occurrence(when, found[-1])
        assert following is not None
        found.append(following)
    return [f"{moment:%Y-%m-%d %H:%M %z}" for moment in found]


@pytest.mark.parametrize(
    ("phrase", "now", "tz", "expected"),
    [
        ("standup every monday at 9", "2026-10-15 09:00", MADRID,
         ["2026-10-19 09:00 +0200", "2026-10-26 09:00 +0100", "2026-11-02 09:00 +0100"]),
        ("standup todos los lunes a las 9", "2026-03-18 09:00", MADRID,
         ["2026-03-23 09:00 +0100", "2026-03-30 09:00 +0200", "2026-04-06 09:00 +0200"]),
        ("standup every monday at 9", "2026-10-22 09:00", NEW_YORK,
         ["2026-10-26 09:00 -0400", "2026-11-02 09:00 -0500", "2026-11-09 09:00 -0500"]),
        ("standup every monday at 9", "2026-03-01 09:00", NEW_YORK,
         ["2026-03-02 09:00 -0500", "2026-03-09 09:00 -0400", "2026-03-16 09:00 -0400"]),
        ("junta todos los lunes a las 9", "2026-03-01 09:00", MEXICO,  # no DST since 2022
         ["2026-03-02 09:00 -0600", "2026-03-09 09:00 -0600", "2026-03-16 09:00 -0600"]),
    ],
)
def test_weekly_reminders_keep_their_wall_clock_time_across_dst(
    phrase: str, now: str, tz: str, expected: list[str]
) -> None:
    when = parse_event(phrase, at(now, tz), tz).when
    assert _occurrences(when, 3) == expected


def test_a_time_in_the_spring_forward_gap_moves_forward_by_the_gap() -> None:
    when = parse_event("backup every day at 2:30am", at("2026-03-27 12:00", MADRID), MADRID).when
    assert _occurrences(when, 3) == [
        "2026-03-28 02:30 +0100", "2026-03-29 03:30 +0200", "2026-03-30 02:30 +0200"]
    when = parse_event("backup every day at 2:30am", at("2026-03-06 12:00", NEW_YORK),
                       NEW_YORK).when
    assert _occurrences(when, 3) == [
        "2026-03-07 02:30 -0500", "2026-03-08 03:30 -0400", "2026-03-09 02:30 -0400"]


def test_a_repeated_wall_time_takes_the_first_one() -> None:
    when = parse_event("backup every day at 2:30am", at("2026-10-23 12:00", MADRID), MADRID).when
    assert _occurrences(when, 3) == [
        "2026-10-24 02:30 +0200", "2026-10-25 02:30 +0200", "2026-10-26 02:30 +0100"]


def test_a_first_occurrence_in_the_gap_keeps_the_asked_time_for_the_next_ones() -> None:
    phrase = "copia de seguridad todos los domingos a las 2:30 de la madrugada"
    when = parse_event(phrase, at("2026-03-25 09:00", MADRID), MADRID).when
    assert _occurrences(when, 3) == [
        "2026-03-29 03:30 +0200", "2026-04-05 02:30 +0200", "2026-04-12 02:30 +0200"]


def test_one_off_dates_across_the_change_get_the_offset_of_their_own_day() -> None:
    when = parse_event("meeting on november 2 at 10am", at("2026-10-28 09:00", NEW_YORK),
                       NEW_YORK).when
    assert f"{when.start:%Y-%m-%d %H:%M %z}" == "2026-11-02 10:00 -0500"
    when = parse_event("reunión el 30 de marzo a las 9", at("2026-03-25 09:00", MADRID),
                       MADRID).when
    assert f"{when.start:%Y-%m-%d %H:%M %z}" == "2026-03-30 09:00 +0200"
    when = parse_event("backup on march 29 at 2:30am", at("2026-03-25 09:00", MADRID),
                       MADRID).when
    assert f"{when.start:%Y-%m-%d %H:%M %z}" == "2026-03-29 03:30 +0200"
    when = parse_event("backup on october 25 at 2:30am", at("2026-10-22 09:00", MADRID),
                       MADRID).when
    assert f"{when.start:%Y-%m-%d %H:%M %z}" == "2026-10-25 02:30 +0200"


# ---------------------------------------------------------------------------------------------
# next_occurrence


def test_next_occurrence_is_strictly_after() -> None:
    when = parse_event("standup every monday at 9", FRI, MADRID).when
    assert next_occurrence(when, when.start - timedelta(minutes=1)) == when.start
    assert next_occurrence(when, when.start) == at("2026-11-30 09:00", MADRID)
    # `after` may be in any timezone.
    assert next_occurrence(when, at("2026-11-30 07:59", UTC)) == at("2026-11-30 09:00", MADRID)
    assert next_occurrence(when, at("2026-11-30 08:00", UTC)) == at("2026-12-07 09:00", MADRID)


def test_next_occurrence_of_a_one_off_event_is_none() -> None:
    when = parse_event("dentist next friday at 5pm", FRI, MADRID).when
    assert next_occurrence(when, FRI) is None


def test_next_occurrence_is_none_once_the_rule_is_exhausted() -> None:
    when = When(at("2026-11-23 09:00", MADRID), "FREQ=DAILY;COUNT=2", True)
    assert next_occurrence(when, when.start) == at("2026-11-24 09:00", MADRID)
    assert next_occurrence(when, at("2026-11-24 09:00", MADRID)) is None
    until = parse_event("standup every monday until december 31 at 9", FRI, MADRID).when
    assert _occurrences(until, 6)[-1] == "2026-12-28 09:00 +0100"
    assert next_occurrence(until, at("2026-12-28 09:00", MADRID)) is None


def test_monthly_and_yearly_rules() -> None:
    monthly = parse_event("invoice every month on the 31st", FRI, MADRID).when
    assert _occurrences(monthly, 3) == [
        "2026-12-31 09:00 +0100", "2027-01-31 09:00 +0100", "2027-03-31 09:00 +0200"]
    fortnightly = parse_event("payroll every 2 weeks on friday at 16:00", FRI, MADRID).when
    assert _occurrences(fortnightly, 2)[1] == "2026-12-04 16:00 +0100"


# ---------------------------------------------------------------------------------------------
# describe: the exact echo


def test_describe_in_both_languages() -> None:
    when = parse_event("dentist next friday at 5pm", FRI, MADRID).when
    assert describe(when, "en") == "Friday 27 November 2026 at 17:00 (Europe/Madrid)"
    assert describe(when, "es") == "viernes 27 de noviembre de 2026 a las 17:00 (Europe/Madrid)"
    weekly = When(when.start, "FREQ=WEEKLY;BYDAY=MO", True)
    assert describe(weekly, "en") == (
        "Friday 27 November 2026 at 17:00 (Europe/Madrid), every Monday")
    assert describe(weekly, "es") == (
        "viernes 27 de noviembre de 2026 a las 17:00 (Europe/Madrid), todos los lunes")


def test_describe_says_when_the_time_was_assumed() -> None:
    when = parse_event("reunión el lunes", FRI, MADRID).when
    assert when.time_given is False
    assert describe(when, "es") == (
        "lunes 23 de noviembre de 2026 a las 09:00 (Europe/Madrid) — "
        "no se indicó la hora, se asumen las 09:00")
    assert describe(when, "en") == (
        "Monday 23 November 2026 at 09:00 (Europe/Madrid) — no time was given, 09:00 assumed")


@pytest.mark.parametrize(
    ("rrule", "english", "spanish"),
    [
        ("FREQ=DAILY", "every day", "todos los días"),
        ("FREQ=DAILY;INTERVAL=3", "every 3 days", "cada 3 días"),
        (WEEKDAYS, "every weekday (Monday to Friday)", "de lunes a viernes"),
        ("FREQ=WEEKLY;BYDAY=TU,TH", "every Tuesday and Thursday", "todos los martes y jueves"),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=FR", "every 2 weeks on Friday",
         "cada 2 semanas, los viernes"),
        ("FREQ=MONTHLY;BYMONTHDAY=15", "every month on the 15th", "todos los meses, el día 15"),
        ("FREQ=MONTHLY;BYDAY=1MO", "every month on the first Monday",
         "el primer lunes de cada mes"),
        ("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3", "every year on 3 March",
         "todos los años, el 3 de marzo"),
        ("FREQ=HOURLY;INTERVAL=2", "every 2 hours", "cada 2 horas"),
        ("FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30", "every Sunday at 02:30",
         "todos los domingos a las 02:30"),
        ("FREQ=WEEKLY;BYDAY=MO;UNTIL=20261231T225959Z",
         "every Monday, until Thursday 31 December 2026",
         "todos los lunes, hasta el jueves 31 de diciembre de 2026"),
    ],
)
def test_describe_repeating_rules(rrule: str, english: str, spanish: str) -> None:
    when = When(at("2026-11-23 01:00", MADRID), rrule, True)
    assert describe(when, "en") == f"Monday 23 November 2026 at 01:00 (Europe/Madrid), {english}"
    assert describe(when, "es") == (
        f"lunes 23 de noviembre de 2026 a la 01:00 (Europe/Madrid), {spanish}")


# ---------------------------------------------------------------------------------------------
# Questions, and what a caller relies on


def test_an_ambiguous_hour_offers_both_readings() -> None:
    with pytest.raises(Unclear) as caught:
        parse_event("call mom at 5", FRI, MADRID)
    assert caught.value.question("en") == "Did you mean 05:00 or 17:00? Say `5am` or `5pm`."
    assert caught.value.question("es") == (
        "¿A las 05:00 o a las 17:00? Di `5 de la mañana` o `5 de la tarde`.")


def test_an_ambiguous_date_offers_both_readings() -> None:
    with pytest.raises(Unclear) as caught:
        parse_event("reunión el 3/4", FRI, MADRID)
    assert [f"{option:%Y-%m-%d}" for option in caught.value.options] == [
        "2027-03-04", "2027-04-03"]
    assert "3 de abril" in caught.value.question("es")
    assert "4 March" in caught.value.question("en")


def test_no_time_gives_an_example() -> None:
    with pytest.raises(Unclear) as caught:
        parse_event("send the report", FRI, MADRID)
    assert "Try: `/agenda add send the report tomorrow at 10am`" in caught.value.question("en")
    assert "Prueba: `/agenda añade enviar el informe mañana a las 10`" in (
        caught.value.question("es"))


@pytest.mark.parametrize("reason", sorted(REASONS))
def test_every_reason_has_a_question_in_both_languages(reason: str) -> None:
    unclear = Unclear(reason)
    assert unclear.question("en") and unclear.question("es")
    assert unclear.question("en") != unclear.question("es")


def test_unknown_reasons_are_refused() -> None:
    with pytest.raises(ValueError):
        Unclear("because")


@pytest.mark.parametrize(
    ("phrase", "given"),
    [
        ("reunión el lunes", False),
        ("call dad tonight", True),  # a part of the day is a time, if a loose one
        ("invoice every month on the 15th", False),
        ("meeting at 8", True),
        ("renew the passport in 3 days", True),
        ("call mom in 2 hours", True),
    ],
)
def test_time_given(phrase: str, given: bool) -> None:
    when = parse_event(phrase, FRI, MADRID).when
    assert when.time_given is given
    if not given:
        assert when.start.hour == DEFAULT_HOUR


def test_the_hint_only_breaks_ties() -> None:
    assert parse_event("deploy 2026-12-03 14:00", FRI, MADRID, lang="es").lang == "es"
    assert parse_event("deploy 2026-12-03 14:00", FRI, MADRID, lang="en").lang == "en"


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_event("call mom tomorrow", datetime(2026, 11, 20, 9), MADRID)


def test_parsing_is_fast_after_warm_up() -> None:
    phrases = [(row.values[1], row.values[2], row.values[3]) for row in PHRASES]
    timings = []
    for round_ in range(2):  # the first round warms the caches up
        for phrase, now, tz in phrases:
            began = time.perf_counter()
            with contextlib.suppress(Unclear):
                parse_event(phrase, now, tz)
            if round_:
                timings.append(time.perf_counter() - began)
    assert max(timings) < 0.020


@pytest.mark.parametrize(("phrase", "lang"), [
    ("stretch every minute", "en"),
    ("stretch every 2 minutes", "en"),
    ("ping the server every 10 seconds", "en"),
    ("estirar cada minuto", "es"),
    ("estirar cada 4 minutos", "es"),
])
def test_repeating_more_often_than_every_five_minutes_is_refused(phrase: str,
                                                                 lang: str) -> None:
    with pytest.raises(Unclear) as caught:
        parse_event(phrase, FRI, MADRID, lang)
    assert caught.value.reason == "too_often" and caught.value.lang == lang
    assert "5" in caught.value.question(lang)


def test_every_five_minutes_is_the_most_often_allowed() -> None:
    parsed = parse_event("stretch every 5 minutes", FRI, MADRID)
    assert parsed.when.rrule == "FREQ=MINUTELY;INTERVAL=5"


@pytest.fixture
def periods(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many periods (days, weeks, ...) dateutil walks: one call of a `*dayset` each."""
    walked = [0]
    for name in ("ydayset", "mdayset", "wdayset", "ddayset"):
        original = getattr(dateutil_rrule._iterinfo, name)

        def counted(self: Any, *args: Any, _original: Any = original) -> Any:
            walked[0] += 1
            return _original(self, *args)

        monkeypatch.setattr(dateutil_rrule._iterinfo, name, counted)
    return walked


@pytest.mark.parametrize("rule", [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",  # no such day: refused before any walk
    "FREQ=WEEKLY;BYMONTH=2;BYMONTHDAY=30",
    "FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=-31",
    "FREQ=DAILY;INTERVAL=7;BYDAY=MO",  # every 7th day from a Tuesday is never a Monday
    "FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2",  # one Monday a week: there is no second one
    "FREQ=DAILY;BYYEARDAY=1;BYMONTH=2",
])
def test_a_rule_that_never_occurs_is_refused_after_a_bounded_walk(
    rule: str, periods: list[int]
) -> None:
    tuesday = at("2027-01-05 09:00", MADRID)
    with pytest.raises(RuleError, match="no occurrence within"):
        check_rule(rule, tuesday)
    # Unbounded, dateutil walks every day until 9999: about 2.9 million for a DAILY rule.
    assert periods[0] <= (RULE_WINDOW_YEARS + 400) * 366


def test_a_rule_first_occurring_beyond_the_window_is_refused() -> None:
    # February has five Mondays only when it is a leap year starting on a Monday: 2044.
    with pytest.raises(RuleError, match="no occurrence within"):
        check_rule("FREQ=MONTHLY;BYMONTH=2;BYDAY=5MO", at("2027-01-05 09:00", MADRID))


@pytest.mark.parametrize("rule", [
    "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
    "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=WEEKLY;BYDAY=MO;COUNT=3",
    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO",
])
def test_rare_but_real_rules_stay_valid(rule: str, periods: list[int]) -> None:
    check_rule(rule, at("2027-01-05 09:00", MADRID))
    assert periods[0] <= (RULE_WINDOW_YEARS + 400) * 366
