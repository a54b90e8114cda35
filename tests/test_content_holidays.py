"""Holidays content: the curated allow-list, the deny list, clean names and days off."""

from __future__ import annotations

import re
from datetime import date

import pytest
from pydantic import ValidationError

from bot.content import holidays as h
from bot.content._data import load_yaml
from bot.content.holidays import (
    Catalogue,
    Holiday,
    catalogue,
    clean_name,
    country_name,
    day_off_label,
    greetable,
    is_denied,
    is_public_holiday,
    when_label,
)

REQUIRED = frozenset(
    {
        "US", "GB", "CA", "IE", "DE", "FR", "ES", "IT", "NL", "SE", "PL", "IN", "JP", "CN", "SG", "AU",
        "NZ", "BR", "MX", "AR", "ZA", "NG", "KE", "AE", "SA", "EG", "TR", "IL", "KR", "PH", "ID", "PK",
    }
)
YEARS = (2026, 2027, 2028)
QUALIFIER = re.compile(r"observed|estimated|substitut|\*|alternative holiday", re.IGNORECASE)


def test_every_required_country_has_an_allow_list() -> None:
    assert set(catalogue().countries) >= REQUIRED


def test_no_allow_list_entry_hits_a_deny_pattern() -> None:
    deny = [re.compile(p, re.IGNORECASE) for p in catalogue().deny]
    for code, rules in catalogue().countries.items():
        for rule in rules.days:
            for text in (rule.match, rule.name):
                assert not any(p.search(text) for p in deny), f"{code}: {text!r} is denied"


@pytest.mark.parametrize(
    "solemn",
    [
        "Good Friday", "Holy Saturday", "Black Saturday", "Maundy Thursday", "Ash Wednesday", "Yom Kippur",
        "Tisha B'Av", "Ashura", "Memorial Day", "Remembrance Day", "Remembrance Sunday", "ANZAC Day",
        "Armistice Day", "National Day of Mourning", "Martyrs' Day", "Holocaust Remembrance Day",
        "Armenian Genocide Remembrance Day", "All Souls' Day", "All Saints' Day", "Day of the Dead",
        "National Day for Truth and Reconciliation", "Start of Ramadan", "Day of Arafah", "Tomb-Sweeping Day",
        "Veteran's Day and the Fallen in the Malvinas War", "Pass to the Immortality of General Don José de San Martín",
        "Commemoration of Atatürk, Youth and Sports Day", "Day of Silence", "Kashmir Solidarity Day",
    ],
)
def test_deny_patterns_catch_solemn_days(solemn: str) -> None:
    assert is_denied(solemn)


@pytest.mark.parametrize("happy", ["Christmas", "Diwali", "Eid al-Fitr", "Lunar New Year", "King's Day", "Holi"])
def test_deny_patterns_spare_celebrations(happy: str) -> None:
    assert not is_denied(happy)


def test_greetable_days_of_every_country_and_year_are_never_denied_and_clean() -> None:
    for code in catalogue().countries:
        for year in YEARS:
            days = greetable(code, year, limit=50)
            assert days, f"{code} {year} has no greetable day"
            assert [d.day for d in days] == sorted(d.day for d in days)
            for hol in days:
                assert hol.day.year == year
                assert not is_denied(hol.name), (code, hol)
                assert not QUALIFIER.search(hol.name), (code, hol)
            # the raw library names behind each greeting are never denied either
            rules = catalogue().countries[code]
            raws = h._lib(code, year, rules.categories)
            for hol in days:
                assert not any(is_denied(r) for r in raws[hol.day] if h._base(r) in rules.by_match()
                               and rules.by_match()[h._base(r)].name == hol.name)


def test_required_solemn_days_never_greeted() -> None:
    # Days the library lists as public holidays but that must never get a greeting.
    never = {
        ("US", "Memorial Day"), ("GB", "Good Friday"), ("AU", "ANZAC Day"), ("FR", "Armistice Day"),
        ("IL", "Yom Kippur"), ("PK", "Ashura"), ("BR", "All Souls' Day"), ("KR", "Memorial Day"),
        ("CA", "National Day for Truth and Reconciliation"), ("CA", "Remembrance Day"),
    }
    for code, raw in never:
        rules = catalogue().countries[code]
        found = [d for y in YEARS for d, names in h._lib(code, y, rules.categories).items() if raw in names]
        assert found, f"the library no longer lists {raw} for {code}"  # keeps this test meaningful
        greeted = {hol.day for y in YEARS for hol in greetable(code, y, limit=50)}
        assert not greeted & set(found), (code, raw)


def test_us_2026_top_four_by_priority_sorted_by_date() -> None:
    assert greetable("US", 2026) == (
        Holiday(date(2026, 1, 1), "New Year's Day"),
        Holiday(date(2026, 7, 4), "Independence Day"),
        Holiday(date(2026, 11, 26), "Thanksgiving"),
        Holiday(date(2026, 12, 25), "Christmas"),
    )
    # equal priority: the earlier day wins
    assert greetable("US", 2026, limit=1) == (Holiday(date(2026, 11, 26), "Thanksgiving"),)
    assert greetable("us", 2026, limit=0) == ()


def test_real_day_not_observed_substitute() -> None:
    # 4 July 2026 is a Saturday; the US observes it on Friday 3 July. Greet on the 4th, once.
    us = greetable("US", 2026, limit=50)
    assert [x.day for x in us if x.name == "Independence Day"] == [date(2026, 7, 4)]
    assert is_public_holiday("US", date(2026, 7, 3))
    assert day_off_label("US", date(2026, 7, 3)) == "Independence Day"


def test_multi_day_holidays_greeted_once_on_the_first_day() -> None:
    cn = [x for x in greetable("CN", 2026, limit=50) if x.name == "Lunar New Year"]
    assert cn == [Holiday(date(2026, 2, 17), "Lunar New Year")]
    tr = [x for x in greetable("TR", 2026, limit=50) if x.name == "Eid al-Fitr"]
    assert tr == [Holiday(date(2026, 3, 20), "Eid al-Fitr")]


def test_estimated_dates_are_greeted_with_clean_names() -> None:
    ng = greetable("NG", 2026, limit=50)
    assert any(x.name == "Eid al-Adha" for x in ng)  # the library marks it "(estimated)"


def test_display_names_come_from_the_data_file() -> None:
    assert Holiday(date(2026, 4, 27), "King's Day") in greetable("NL", 2026)
    assert Holiday(date(2026, 11, 8), "Deepavali") in greetable("SG", 2026)
    assert Holiday(date(2026, 7, 14), "Bastille Day") in greetable("FR", 2026)
    assert Holiday(date(2026, 10, 12), "Thanksgiving") in greetable("CA", 2026)
    assert Holiday(date(2026, 6, 19), "Midsummer") in greetable("SE", 2026)


def test_unknown_or_missing_country() -> None:
    for country in (None, "", "XX", "ZZZ"):
        assert greetable(country, 2026) == ()
        assert is_public_holiday(country, date(2026, 1, 1)) is False
        assert day_off_label(country, date(2026, 1, 1)) is None


def test_public_holiday_covers_solemn_days_too() -> None:
    assert is_public_holiday("GB", date(2026, 4, 3))  # Good Friday: a day off, never a greeting
    assert day_off_label("GB", date(2026, 4, 3)) == "Good Friday"
    assert not is_public_holiday("GB", date(2026, 4, 7))
    assert day_off_label("GB", date(2026, 4, 7)) is None


def test_country_with_holidays_but_no_allow_list() -> None:
    assert greetable("PT", 2026) == ()
    assert is_public_holiday("PT", date(2026, 4, 25))


def test_day_off_labels_are_clean() -> None:
    assert day_off_label("KR", date(2026, 3, 2)) == "Independence Movement Day"  # an alternative holiday
    assert day_off_label("CN", date(2026, 2, 20)) == "Day off"
    assert day_off_label("SA", date(2026, 3, 23)) == "Eid al-Fitr"
    assert day_off_label("CN", date(2028, 10, 3)) is not None


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Christmas Day (observed)", "Christmas Day"),
        ("Eid al-Fitr (estimated)", "Eid al-Fitr"),
        ("Eid al-Fitr* (estimated)", "Eid al-Fitr"),
        ("Eid al-Fitr (observed, estimated)", "Eid al-Fitr"),
        ("Eid al-Adha Holiday (estimated)", "Eid al-Adha"),
        ("National Day Holiday (observed)", "National Day"),
        ("Boxing Day (substitute day)", "Boxing Day"),
        ("Day off (substituted from 01/04/2026)", "Day off"),
        ("Alternative holiday for Chuseok", "Chuseok"),
        ("Mid-Autumn Festival; National Day", "Mid-Autumn Festival and National Day"),
        ("Chuseok; Chuseok", "Chuseok"),
        ("Chinese New Year (Spring Festival)", "Chinese New Year (Spring Festival)"),
        ("Spring Bank Holiday", "Spring Bank Holiday"),
        ("Substitute Holiday", "Substitute Holiday"),
        ("  New  Year's Day ", "New Year's Day"),
    ],
)
def test_clean_name(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


def test_when_label() -> None:
    today = date(2026, 12, 22)
    assert when_label(date(2026, 12, 22), today) == "today"
    assert when_label(date(2026, 12, 23), today) == "tomorrow"
    assert when_label(date(2026, 12, 25), today) == "on Fri 25 Dec"
    assert when_label(date(2027, 1, 1), today) == "on Fri 1 Jan"


def test_data_file_validation_rejects_denied_or_duplicate_entries() -> None:
    raw = load_yaml("holidays.yml")
    good_friday = {"match": "Good Friday", "name": "Easter", "priority": 1}
    bad = {"deny": raw["deny"], "countries": {"GB": {"country": "the United Kingdom", "days": [good_friday]}}}
    with pytest.raises(ValidationError, match="deny pattern"):
        Catalogue.model_validate(bad)
    dup = {"deny": [], "countries": {"GB": {"country": "the United Kingdom",
                                            "days": [{"match": "X", "name": "Y", "priority": 1}] * 2}}}
    with pytest.raises(ValidationError, match="duplicate"):
        Catalogue.model_validate(dup)
    with pytest.raises(ValidationError, match="alpha-2"):
        Catalogue.model_validate({"deny": [], "countries": {"gbr": {"country": "Britain", "days": []}}})
    with pytest.raises(ValidationError, match="country"):  # every allow-list names its country
        Catalogue.model_validate({"deny": [], "countries": {"GB": {"days": []}}})


def test_every_country_is_named_as_a_sentence_says_it() -> None:
    assert country_name("KE") == "Kenya" and country_name("nl") == "the Netherlands"
    assert country_name("XX") is None and country_name(None) is None
    for code, rules in catalogue().countries.items():
        assert rules.country[:1].isupper() or rules.country.startswith("the "), code


def test_one_greeting_per_holiday_and_per_day() -> None:
    """A country's calendar may list a holiday on several days, or two holidays on one day: one greeting each."""
    for code in catalogue().countries:
        for year in YEARS:
            days = greetable(code, year, limit=50)
            names = [d.name for d in days]
            assert len(names) == len(set(names)), (code, year, names)
            assert len({d.day for d in days}) == len(days), (code, year, days)


def test_a_holiday_is_worded_as_the_countrys_public_holiday_never_as_faith() -> None:
    """Kevin lives in Kenya: his partner hears that Eid al-Fitr is a public holiday in Kenya, and that a
    short note is kind if Kevin marks it; never that Kevin celebrates it. Every line of the rotation."""
    from datetime import UTC, datetime

    from adapters.console.journal import visible_text
    from bot.chat import preview
    from bot.content import prompts
    from bot.content.journey import KINDS
    from bot.content.kinds import PromptKind
    from bot.content.prompts import Digest, PersonView

    kevin = PersonView("Kevin Otieno", "UKEVIN", "Africa/Nairobi", "KE")
    hannah = PersonView("Hannah Schmidt", "UHANNAH", "Europe/Berlin", "DE")
    monday = datetime(2026, 3, 16, 7, tzinfo=UTC)  # Eid al-Fitr is on Fri 20 Mar 2026 in Kenya
    people = {"me": hannah, "partner": kevin, "sponsor": hannah, "sponsoree": kevin, "now": monday}
    for kind in KINDS:
        tips = set()
        for week in range(3, 19):  # a full turn of the rotation (and BOOK_WEEKS skipped)
            if week in prompts.BOOK_WEEKS:
                continue
            msg = prompts.checkin(preview._ctx(PromptKind.CHECKIN, "know", week, program_kind=kind, **people))
            assert msg.meta.get("holiday"), (kind, week)
            tip = visible_text(msg).split("\n", 1)[1]
            assert re.search(r"Eid al-Fitr.*public holiday|public holiday.*Eid al-Fitr", tip), tip
            assert "Kenya" in tip and "Kevin" in tip and "on Fri 20 Mar" in tip, tip
            assert "celebrat" not in tip.lower()
            tips.add(tip)
        assert len(tips) >= 8, "the greeting keeps its variety"
        digest = prompts.nudge(preview._ctx(PromptKind.NUDGE, "know", 6, "senior", program_kind=kind,
                                            digest=Digest(), **people))
        assert ("Eid al-Fitr is a public holiday in Kenya on Fri 20 Mar. Greet Kevin Otieno if they mark it."
                in visible_text(digest)), visible_text(digest)
