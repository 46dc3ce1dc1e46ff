"""Write collection/members/data/holidays_id.csv, Indonesia's national public holidays, from the `holidays` package.

Run from the project root: ``.venv/bin/python scripts/generate_holidays.py``. The CSV is the shipped
data; this script records where it came from (``holidays`` 0.108, category "public", names in English).

What is in and what is not:
- Everything the package lists as a national public holiday (*hari libur nasional*) is kept, Easter
  Sunday included: it is an official holiday, and as a Sunday it never moves a due date anyway, so
  filtering it would be a special case that changes nothing.
- Joint leave days (*cuti bersama*, the package's "government" category) are left out: domain.md §3
  moves a due date only past Sundays and public holidays, and cuti bersama is leave, not a holiday.
- Islamic and lunar dates of future years are the package's estimates (their names end in
  "(estimated)"). When the yearly joint decree (SKB 3 Menteri) is published, correct the CSV by hand
  or upgrade the package and run this again.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import holidays

FIRST_YEAR = 2015  # PP 44/2015 took effect in July 2015: no contribution is due earlier
LAST_YEAR = 2030
OUTPUT = Path(__file__).resolve().parents[1] / "collection" / "members" / "data" / "holidays_id.csv"


def national_holidays(first_year: int, last_year: int) -> list[tuple[str, str]]:
    """Indonesia's national public holidays as (ISO date, name), sorted by date."""
    calendar = holidays.country_holidays("ID", years=range(first_year, last_year + 1), language="en_US")
    return sorted((day.isoformat(), name) for day, name in calendar.items())


def write_csv(rows: list[tuple[str, str]], output: Path) -> None:
    """Write the rows as date,name,region_code; an empty region_code means national."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(["date", "name", "region_code"])
        writer.writerows((day, name, "") for day, name in rows)


def main() -> None:
    """Generate the CSV for FIRST_YEAR..LAST_YEAR (or the years given) and say how many rows it has."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first-year", type=int, default=FIRST_YEAR)
    parser.add_argument("--last-year", type=int, default=LAST_YEAR)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    arguments = parser.parse_args()
    rows = national_holidays(arguments.first_year, arguments.last_year)
    write_csv(rows, arguments.output)
    print(f"wrote {len(rows)} holidays to {arguments.output}")


if __name__ == "__main__":
    main()
