"""The contribution table of PP 44/2015, the PP 50/2025 discounts, and the rate table's own checks."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collection.members.rates import (
    RATES_JSON,
    AmountDue,
    Bracket,
    ContributionTerms,
    Discount,
    NoRateForMonth,
    Package,
    Payer,
    Programme,
    RateError,
    RateSchedule,
    RateTable,
    Sector,
    UnknownBracket,
    amount_due,
    default_rate_table,
    load_rate_table,
    rate_table_to_data,
)
from core.months import Month

TABLE = default_rate_table()
JUNE_2025 = Month(2025, 6)  # before any discount


def shipped_data() -> dict[str, Any]:
    return json.loads(RATES_JSON.read_text(encoding="utf-8"))


def due(
    bracket: int = 1,
    month: str = "2025-06",
    package: Package = Package.JKK_JKM,
    sector: Sector = Sector.OTHER,
    payer: Payer = Payer.SELF,
    table: RateTable = TABLE,
) -> AmountDue:
    return amount_due(table, ContributionTerms(bracket, package, sector, payer), Month.parse(month))


# Written out from PP 44/2015 Lampiran II (domain.md §2), not computed: bracket, base, JKK, JKM, JKK+JKM, JHT.
@pytest.mark.parametrize(
    ("bracket", "base", "jkk", "jkm", "jkk_jkm", "jht"),
    [
        (1, 1_000_000, 10_000, 6_800, 16_800, 20_000),
        (2, 1_200_000, 12_000, 6_800, 18_800, 24_000),
        (3, 1_400_000, 14_000, 6_800, 20_800, 28_000),
        (4, 1_600_000, 16_000, 6_800, 22_800, 32_000),
        (5, 1_800_000, 18_000, 6_800, 24_800, 36_000),
        (6, 2_000_000, 20_000, 6_800, 26_800, 40_000),
        (7, 2_200_000, 22_000, 6_800, 28_800, 44_000),
        (8, 2_400_000, 24_000, 6_800, 30_800, 48_000),
        (9, 2_600_000, 26_000, 6_800, 32_800, 52_000),
        (10, 2_950_000, 29_500, 6_800, 36_300, 59_000),
        (11, 3_450_000, 34_500, 6_800, 41_300, 69_000),
        (12, 3_950_000, 39_500, 6_800, 46_300, 79_000),
        (13, 4_450_000, 44_500, 6_800, 51_300, 89_000),
        (14, 4_950_000, 49_500, 6_800, 56_300, 99_000),
        (15, 5_450_000, 54_500, 6_800, 61_300, 109_000),
        (16, 5_950_000, 59_500, 6_800, 66_300, 119_000),
        (17, 6_450_000, 64_500, 6_800, 71_300, 129_000),
        (18, 6_950_000, 69_500, 6_800, 76_300, 139_000),
        (19, 7_450_000, 74_500, 6_800, 81_300, 149_000),
        (20, 7_950_000, 79_500, 6_800, 86_300, 159_000),
        (21, 8_700_000, 87_000, 6_800, 93_800, 174_000),
        (22, 9_700_000, 97_000, 6_800, 103_800, 194_000),
        (23, 10_700_000, 107_000, 6_800, 113_800, 214_000),
        (24, 11_700_000, 117_000, 6_800, 123_800, 234_000),
        (25, 12_700_000, 127_000, 6_800, 133_800, 254_000),
        (26, 13_700_000, 137_000, 6_800, 143_800, 274_000),
        (27, 14_700_000, 147_000, 6_800, 153_800, 294_000),
        (28, 15_700_000, 157_000, 6_800, 163_800, 314_000),
        (29, 16_700_000, 167_000, 6_800, 173_800, 334_000),
        (30, 17_700_000, 177_000, 6_800, 183_800, 354_000),
        (31, 18_700_000, 187_000, 6_800, 193_800, 374_000),
        (32, 19_700_000, 197_000, 6_800, 203_800, 394_000),
        (33, 20_700_000, 207_000, 6_800, 213_800, 414_000),
    ],
)
def test_each_bracket_has_the_base_and_amounts_of_lampiran_ii(
    bracket: int, base: int, jkk: int, jkm: int, jkk_jkm: int, jht: int
) -> None:
    assert TABLE.bracket(bracket, JUNE_2025).base_idr == base

    without_jht = due(bracket)
    assert (without_jht.jkk_idr, without_jht.jkm_idr, without_jht.jht_idr) == (jkk, jkm, 0)
    assert without_jht.total_idr == jkk_jkm
    assert without_jht.discount_idr == 0
    assert without_jht.discounts == ()

    with_jht = due(bracket, package=Package.JKK_JKM_JHT)
    assert with_jht.jht_idr == jht
    assert with_jht.total_idr == jkk_jkm + jht


def test_the_table_has_33_brackets_from_july_2015() -> None:
    assert len(TABLE.schedule_for(Month(2015, 7)).brackets) == 33
    assert TABLE.schedule_for(Month(2999, 12)).effective_from == Month(2015, 7)


@pytest.mark.parametrize(
    ("income", "bracket"),
    [
        (0, 1),
        (1_099_999, 1), (1_100_000, 2),
        (1_299_999, 2), (1_300_000, 3),
        (1_499_999, 3), (1_500_000, 4),
        (1_699_999, 4), (1_700_000, 5),
        (1_899_999, 5), (1_900_000, 6),
        (2_099_999, 6), (2_100_000, 7),
        (2_299_999, 7), (2_300_000, 8),
        (2_499_999, 8), (2_500_000, 9),
        (2_699_999, 9), (2_700_000, 10),
        (3_199_999, 10), (3_200_000, 11),
        (3_699_999, 11), (3_700_000, 12),
        (4_199_999, 12), (4_200_000, 13),
        (4_699_999, 13), (4_700_000, 14),
        (5_199_999, 14), (5_200_000, 15),
        (5_699_999, 15), (5_700_000, 16),
        (6_199_999, 16), (6_200_000, 17),
        (6_699_999, 17), (6_700_000, 18),
        (7_199_999, 18), (7_200_000, 19),
        (7_699_999, 19), (7_700_000, 20),
        (8_199_999, 20), (8_200_000, 21),
        (9_199_999, 21), (9_200_000, 22),
        (10_199_999, 22), (10_200_000, 23),
        (11_199_999, 23), (11_200_000, 24),
        (12_199_999, 24), (12_200_000, 25),
        (13_199_999, 25), (13_200_000, 26),
        (14_199_999, 26), (14_200_000, 27),
        (15_199_999, 27), (15_200_000, 28),
        (16_199_999, 28), (16_200_000, 29),
        (17_199_999, 29), (17_200_000, 30),
        (18_199_999, 30), (18_200_000, 31),
        (19_199_999, 31), (19_200_000, 32),
        (20_199_999, 32), (20_200_000, 33),
        (1_000_000_000, 33),
    ],
)  # fmt: skip
def test_declared_income_falls_in_its_bracket_on_both_sides_of_every_boundary(income: int, bracket: int) -> None:
    assert TABLE.bracket_for_income(income, JUNE_2025).number == bracket


@pytest.mark.parametrize(
    ("description", "bracket", "package", "sector", "payer", "month", "total"),
    [
        ("transport, first discounted month", 1, Package.JKK_JKM, Sector.TRANSPORT, Payer.SELF, "2026-01", 8_400),
        ("transport, last discounted month", 1, Package.JKK_JKM, Sector.TRANSPORT, Payer.SELF, "2027-03", 8_400),
        ("transport, month after the discount", 1, Package.JKK_JKM, Sector.TRANSPORT, Payer.SELF, "2027-04", 16_800),
        ("transport, month before the discount", 1, Package.JKK_JKM, Sector.TRANSPORT, Payer.SELF, "2025-12", 16_800),
        ("other sector, month before its discount", 1, Package.JKK_JKM, Sector.OTHER, Payer.SELF, "2026-03", 16_800),
        ("other sector, first discounted month", 1, Package.JKK_JKM, Sector.OTHER, Payer.SELF, "2026-04", 8_400),
        ("other sector, last discounted month", 1, Package.JKK_JKM, Sector.OTHER, Payer.SELF, "2026-12", 8_400),
        ("other sector, month after its discount", 1, Package.JKK_JKM, Sector.OTHER, Payer.SELF, "2027-01", 16_800),
        ("budget-sponsored transport", 1, Package.JKK_JKM, Sector.TRANSPORT, Payer.BUDGET, "2026-01", 16_800),
        ("budget-sponsored other sector", 1, Package.JKK_JKM, Sector.OTHER, Payer.BUDGET, "2026-06", 16_800),
        ("donor-sponsored transport", 1, Package.JKK_JKM, Sector.TRANSPORT, Payer.DONOR, "2026-01", 8_400),
        ("donor-sponsored other sector", 1, Package.JKK_JKM, Sector.OTHER, Payer.DONOR, "2026-06", 8_400),
        ("JHT is never discounted", 1, Package.JKK_JKM_JHT, Sector.OTHER, Payer.SELF, "2026-06", 8_400 + 20_000),
        ("budget-sponsored with JHT", 1, Package.JKK_JKM_JHT, Sector.OTHER, Payer.BUDGET, "2026-06", 16_800 + 20_000),
        ("bracket 10", 10, Package.JKK_JKM, Sector.OTHER, Payer.SELF, "2026-06", 18_150),
        ("bracket 33 with JHT", 33, Package.JKK_JKM_JHT, Sector.TRANSPORT, Payer.SELF, "2027-02", 106_900 + 414_000),
    ],
)
def test_pp_50_2025_halves_jkk_and_jkm_by_sector_month_and_payer(
    description: str, bracket: int, package: Package, sector: Sector, payer: Payer, month: str, total: int
) -> None:
    assert due(bracket, month, package, sector, payer).total_idr == total


def test_a_discounted_amount_names_its_discount_and_keeps_the_gross_amounts() -> None:
    assert due(1, "2026-01", sector=Sector.TRANSPORT) == AmountDue(
        month=Month(2026, 1),
        jkk_idr=10_000,
        jkm_idr=6_800,
        jht_idr=0,
        discount_idr=8_400,
        discounts=("PP 50/2025 transport",),
    )


def table_with(discounts: tuple[Discount, ...], jkm_flat_idr: int = 6_800) -> RateTable:
    schedule = TABLE.schedules[0]
    return RateTable(
        schedules=(
            RateSchedule(
                effective_from=schedule.effective_from,
                effective_to=None,
                jkk_rate_bp=schedule.jkk_rate_bp,
                jkm_flat_idr=jkm_flat_idr,
                jht_rate_bp=schedule.jht_rate_bp,
                brackets=schedule.brackets,
                source="test",
            ),
        ),
        discounts=discounts,
    )


def discount(name: str, percent: int, programmes: frozenset[Programme] = frozenset({Programme.JKM})) -> Discount:
    return Discount(
        name=name,
        programmes=programmes,
        percent=percent,
        sectors=frozenset(Sector),
        first_month=Month(2026, 1),
        last_month=Month(2026, 12),
        excluded_payers=frozenset(),
        source="test",
    )


@pytest.mark.parametrize(
    ("jkm_flat_idr", "percent", "discount_idr"),
    [
        (6_801, 50, 3_401),  # 3.400,5 rounds half up
        (6_799, 50, 3_400),  # 3.399,5 rounds half up
        (6_801, 30, 2_040),  # 2.040,3 rounds down
        (6_805, 30, 2_042),  # 2.041,5 rounds half up
        (6_807, 30, 2_042),  # 2.042,1 rounds down
    ],
)
def test_a_discount_is_rounded_half_up_to_whole_rupiah(jkm_flat_idr: int, percent: int, discount_idr: int) -> None:
    table = table_with((discount("odd", percent),), jkm_flat_idr=jkm_flat_idr)
    assert due(1, "2026-06", table=table).discount_idr == discount_idr


@pytest.mark.parametrize(
    ("percents", "discount_idr"),
    [
        ((30, 20), 3_400),
        ((60, 70), 6_800),  # capped at 100%
        ((100, 100), 6_800),
    ],
)
def test_discounts_add_up_but_never_beyond_100_percent(percents: tuple[int, ...], discount_idr: int) -> None:
    table = table_with(tuple(discount(f"d{i}", percent) for i, percent in enumerate(percents)))
    amount = due(1, "2026-06", table=table)
    assert amount.discount_idr == discount_idr
    assert amount.total_idr == 16_800 - discount_idr


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: TABLE.schedule_for(Month(1990, 1)), NoRateForMonth,
         "no contribution table covers 1990-01: the first table starts 2015-07"),
        (lambda: due(1, "2015-06"), NoRateForMonth, "no contribution table covers 2015-06"),
        (lambda: TABLE.bracket(0, JUNE_2025), UnknownBracket, "bracket 0 does not exist: brackets are 1 to 33"),
        (lambda: TABLE.bracket(34, JUNE_2025), UnknownBracket, "bracket 34 does not exist: brackets are 1 to 33"),
        (lambda: due(34), UnknownBracket, "bracket 34 does not exist: brackets are 1 to 33"),
        (lambda: TABLE.bracket_for_income(-1, JUNE_2025), RateError, "income must be 0 or more, got -1"),
        (lambda: TABLE.bracket_for_income(1_500_000.0, JUNE_2025),  # type: ignore[arg-type]
         RateError, "income must be whole rupiah"),
    ],
)  # fmt: skip
def test_a_contribution_that_cannot_be_computed_says_why(
    call: Callable[[], object], error: type[RateError], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


def test_a_month_after_the_last_schedule_ends_has_no_rate() -> None:
    table = load_rate_table(set_path(shipped_data(), ["schedules", 0, "effective_to"], "2030-12"))
    with pytest.raises(NoRateForMonth, match="the last table ends 2030-12"):
        table.schedule_for(Month(2031, 1))


def set_path(data: dict[str, Any], path: list[str | int], value: Any) -> dict[str, Any]:
    """A copy of ``data`` with the value at ``path`` replaced."""
    changed = copy.deepcopy(data)
    node: Any = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return changed


def with_second_schedule(effective_from: str, first_ends: str | None) -> dict[str, Any]:
    data = set_path(shipped_data(), ["schedules", 0, "effective_to"], first_ends)
    later = copy.deepcopy(data["schedules"][0])
    later.update(effective_from=effective_from, effective_to=None)
    data["schedules"].append(later)
    return data


def without_key(path: list[str | int], key: str) -> dict[str, Any]:
    data = shipped_data()
    node: Any = data
    for step in path:
        node = node[step]
    del node[key]
    return data


BRACKETS: list[str | int] = ["schedules", 0, "brackets"]


@pytest.mark.parametrize(
    ("description", "data", "message"),
    [
        ("overlapping schedules", with_second_schedule("2026-01", "2026-06"), "schedules overlap"),
        ("an open-ended schedule that is not the last", with_second_schedule("2026-01", None), "schedules overlap"),
        ("a gap between schedules", with_second_schedule("2026-03", "2026-01"), "gap between schedules"),
        ("a schedule that ends before it starts", set_path(shipped_data(), ["schedules", 0, "effective_to"], "2015-06"),
         "effective_to 2015-06 is before effective_from"),
        ("a gap between brackets", set_path(shipped_data(), [*BRACKETS, 1, "income_from_idr"], 1_100_001),
         "bracket 2 starts at Rp1.100.001 but bracket 1 ends at Rp1.099.999"),
        ("overlapping brackets", set_path(shipped_data(), [*BRACKETS, 1, "income_from_idr"], 1_000_000),
         "bracket 2 starts at Rp1.000.000"),
        ("a bracket out of order", set_path(shipped_data(), [*BRACKETS, 1, "number"], 3), "bracket 3 is in position 2"),
        ("a first bracket not starting at 0", set_path(shipped_data(), [*BRACKETS, 0, "income_from_idr"], 1),
         "it must start at 0"),
        ("a closed last bracket", set_path(shipped_data(), [*BRACKETS, 32, "income_to_idr"], 99_999_999),
         "leave its income_to_idr empty"),
        ("a float base", set_path(shipped_data(), [*BRACKETS, 0, "base_idr"], 1_000_000.0),
         "base_idr must be a whole number"),
        ("a float flat JKM", set_path(shipped_data(), ["schedules", 0, "jkm_flat_idr"], 6_800.5),
         "jkm_flat_idr must be a whole number"),
        ("a float rate", set_path(shipped_data(), ["schedules", 0, "jkk_rate_bp"], 1.0), "jkk_rate_bp must be a whole"),
        ("money as a string", set_path(shipped_data(), [*BRACKETS, 0, "income_to_idr"], "1099999"),
         "income_to_idr must be a whole number"),
        ("money as a boolean", set_path(shipped_data(), [*BRACKETS, 0, "base_idr"], True),
         "base_idr must be a whole number"),
        ("a negative base", set_path(shipped_data(), [*BRACKETS, 0, "base_idr"], -1), "base_idr must be at least 1"),
        ("an unknown programme", set_path(shipped_data(), ["discounts", 0, "programmes"], ["JKK", "JP"]),
         "'JP' is not one of JKK, JKM, JHT"),
        ("an unknown sector", set_path(shipped_data(), ["discounts", 0, "sectors"], ["fishing"]),
         "'fishing' is not one of transport, other"),
        ("an unknown payer", set_path(shipped_data(), ["discounts", 0, "excluded_payers"], ["apbn"]),
         "'apbn' is not one of self, budget, donor"),
        ("a discount of 0%", set_path(shipped_data(), ["discounts", 0, "percent"], 0), "percent must be at least 1"),
        ("a discount over 100%", set_path(shipped_data(), ["discounts", 0, "percent"], 101),
         "percent must be 1 to 100"),
        ("a discount that ends before it starts", set_path(shipped_data(), ["discounts", 0, "last_month"], "2025-12"),
         "last_month 2025-12 is before first_month 2026-01"),
        ("a bad month", set_path(shipped_data(), ["discounts", 0, "first_month"], "2026-13"), "first_month"),
        ("two discounts with one name", set_path(shipped_data(), ["discounts", 1, "name"], "PP 50/2025 transport"),
         "discount names must be unique"),
        ("a missing field", without_key(["schedules", 0], "jht_rate_bp"), "missing field 'jht_rate_bp'"),
        ("a misspelt field", set_path(shipped_data(), ["discounts", 0, "persent"], 50), "unknown field"),
        ("no schedules", set_path(shipped_data(), ["schedules"], []), "at least one schedule"),
    ],
)  # fmt: skip
def test_load_rate_table_rejects_a_bad_document(description: str, data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_rate_table(data)


def test_a_table_of_two_contiguous_schedules_loads_and_picks_the_right_one() -> None:
    data = with_second_schedule("2026-07", "2026-06")
    data["schedules"][1]["jkm_flat_idr"] = 7_000
    table = load_rate_table(data)
    assert table.schedule_for(Month(2026, 6)).jkm_flat_idr == 6_800
    assert table.schedule_for(Month(2026, 7)).jkm_flat_idr == 7_000


def test_the_shipped_document_round_trips_unchanged() -> None:
    data = shipped_data()
    assert rate_table_to_data(load_rate_table(data)) == data
    assert load_rate_table(rate_table_to_data(TABLE)) == TABLE


def test_the_shipped_discounts_are_those_of_pp_50_2025() -> None:
    assert [(d.name, d.percent, d.programmes, d.sectors, d.first_month, d.last_month, d.excluded_payers)
            for d in TABLE.discounts] == [
        ("PP 50/2025 transport", 50, {Programme.JKK, Programme.JKM}, {Sector.TRANSPORT},
         Month(2026, 1), Month(2027, 3), {Payer.BUDGET}),
        ("PP 50/2025 other sectors", 50, {Programme.JKK, Programme.JKM}, {Sector.OTHER},
         Month(2026, 4), Month(2026, 12), {Payer.BUDGET}),
    ]  # fmt: skip


def test_a_bracket_needs_whole_rupiah() -> None:
    with pytest.raises(ValueError, match="whole number"):
        Bracket(number=1, income_from_idr=0, income_to_idr=None, base_idr=1_000_000.0)  # type: ignore[arg-type]


UNDISCOUNTED = RateTable(schedules=TABLE.schedules, discounts=())

terms = st.builds(
    ContributionTerms,
    bracket=st.integers(1, 33),
    package=st.sampled_from(Package),
    sector=st.sampled_from(Sector),
    payer=st.sampled_from(Payer),
)
months = st.builds(Month.from_index, st.integers(Month(2015, 7).index, Month(2040, 12).index))


@given(terms, months)
def test_every_amount_due_is_positive_whole_rupiah_and_a_discount_only_lowers_jkk_and_jkm(
    contribution: ContributionTerms, month: Month
) -> None:
    amount = amount_due(TABLE, contribution, month)
    undiscounted = amount_due(UNDISCOUNTED, contribution, month)

    assert type(amount.total_idr) is int
    assert amount.total_idr > 0
    assert amount.total_idr <= undiscounted.total_idr
    assert 0 <= amount.discount_idr <= amount.jkk_idr + amount.jkm_idr
    assert (amount.jkk_idr, amount.jkm_idr, amount.jht_idr) == (
        undiscounted.jkk_idr,
        undiscounted.jkm_idr,
        undiscounted.jht_idr,
    )
    # JHT is the same rupiah with or without the discount: adding it adds exactly 2% of the base.
    with_jht = amount_due(
        TABLE,
        ContributionTerms(contribution.bracket, Package.JKK_JKM_JHT, contribution.sector, contribution.payer),
        month,
    )
    without_jht = amount_due(
        TABLE, ContributionTerms(contribution.bracket, Package.JKK_JKM, contribution.sector, contribution.payer), month
    )
    assert with_jht.total_idr - without_jht.total_idr == TABLE.bracket(contribution.bracket, month).base_idr * 2 // 100


@given(terms, st.lists(st.integers(1, 100), max_size=4), st.integers(0, 1_000_000))
def test_stacked_discounts_never_make_an_amount_negative(
    contribution: ContributionTerms, percents: list[int], jkm_flat_idr: int
) -> None:
    discounts = tuple(
        discount(f"d{i}", percent, frozenset({Programme.JKK, Programme.JKM})) for i, percent in enumerate(percents)
    )
    amount = amount_due(table_with(discounts, jkm_flat_idr), contribution, Month(2026, 6))
    assert 0 <= amount.discount_idr <= amount.jkk_idr + amount.jkm_idr
    assert amount.total_idr >= amount.jht_idr
