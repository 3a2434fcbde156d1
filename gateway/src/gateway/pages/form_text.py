"""How the evidence form words dates, sizes and file types: the way GOV.UK writes them."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

# Deadlines are stored in UTC; people in the UK read them in UK time (GMT or BST).
UK = ZoneInfo("Europe/London")

# Each allowed type in words, with the file name endings a browser's file picker offers.
MEDIA_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "application/pdf": ("PDF", (".pdf",)),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "Word document (.docx)",
        (".docx",),
    ),
    "application/vnd.oasis.opendocument.text": ("OpenDocument text (.odt)", (".odt",)),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        "Excel spreadsheet (.xlsx)",
        (".xlsx",),
    ),
    "text/csv": ("CSV", (".csv",)),
    "text/plain": ("plain text (.txt)", (".txt",)),
    "text/markdown": ("Markdown (.md)", (".md", ".markdown")),
}


def long_date(value: date | datetime) -> str:
    """`17 February 2023` (a time is read in UK time first)."""
    day = value.astimezone(UK).date() if isinstance(value, datetime) else value
    return f"{day.day} {day:%B %Y}"


def clock_time(value: datetime) -> str:
    """`5pm`, `9:30am`, `11:59pm`, or `midday` / `midnight`, in UK time."""
    local = value.astimezone(UK)
    if local.minute == 0 and local.hour in (0, 12):
        return "midnight" if local.hour == 0 else "midday"
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    return f"{hour}{suffix}" if local.minute == 0 else f"{hour}:{local.minute:02d}{suffix}"


def moment(value: datetime) -> str:
    """`11:59pm on 17 February 2023` (UK time)."""
    return f"{clock_time(value)} on {long_date(value)}"


def file_size(n: int) -> str:
    """A size limit as people say it: `25 MB`, `500 KB` (binary units, as the limits are)."""
    mib = n / (1024 * 1024)
    if mib >= 1:
        return f"{mib:g} MB" if mib.is_integer() else f"{mib:.1f} MB"
    return f"{max(1, round(n / 1024))} KB"


def media_names(types: list[str]) -> str:
    """`PDF, Word document (.docx) or CSV`."""
    names = [MEDIA_TYPES.get(t, (t, ()))[0] for t in types]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} or {names[-1]}"


def endings(types: list[str]) -> list[str]:
    """The file name endings of the allowed types (for the picker's `accept` and the check)."""
    return [e for t in types for e in MEDIA_TYPES.get(t, ("", ()))[1]]


def number(n: int) -> str:
    """`3,000`."""
    return f"{n:,}"
