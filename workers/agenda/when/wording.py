"""Days and clock times in words, for the echo and for the questions."""

from __future__ import annotations

from datetime import date, datetime

_DAY_NAMES = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "es": ["lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"],
}
_MONTH_NAMES = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre"],
}


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _format_day(day: date, lang: str, *, with_year: bool = True) -> str:
    weekday = _DAY_NAMES[lang][day.weekday()]
    month = _MONTH_NAMES[lang][day.month - 1]
    if lang == "es":
        return f"{weekday} {day.day} de {month}" + (f" de {day.year}" if with_year else "")
    return f"{weekday} {day.day} {month}" + (f" {day.year}" if with_year else "")


def _format_clock(moment: datetime, lang: str) -> str:
    clock = f"{moment:%H:%M:%S}" if moment.second else f"{moment:%H:%M}"  # "in 30 seconds"
    if lang == "es":
        return f"{'a la' if moment.hour == 1 else 'a las'} {clock}"  # "a la una"
    return f"at {clock}"
