"""File patterns: the examples of DOMAIN.md and the seeds, matching, listing prefixes."""

from datetime import date

import pytest

from couriers.patterns import FilePattern, PatternError, days_in

DOMAIN = "'files/'yyyy'/'MM'/'dd'/customers-*.csv'"
SEED = "'path/to/users'-YYYY-MM-dd'.avro'"
HEAP = "'sync_'*'/users/'*'.avro'"


# -- resolve ------------------------------------------------------------------------------


def test_domain_example_resolves_for_a_day():
    p = FilePattern.parse(DOMAIN)
    assert p.has_date
    assert p.resolve(date(2020, 4, 10)) == "files/2020/04/10/customers-*.csv"


def test_seed_example_text_outside_quotes_is_literal():
    p = FilePattern.parse(SEED)
    assert p.has_date
    assert p.resolve(date(2024, 1, 5)) == "path/to/users-2024-01-05.avro"


def test_heap_sync_layout_has_no_date():
    p = FilePattern.parse(HEAP)
    assert not p.has_date
    assert p.resolve(date(2024, 1, 5)) == "sync_*/users/*.avro"


@pytest.mark.parametrize(
    "text",
    ["path/to/users.csv", "data/address/users.csv", "exports/Monday/file.tsv", "a.csv"],
)
def test_plain_path_is_valid_and_means_itself(text):
    p = FilePattern.parse(text)
    assert not p.has_date
    assert p.resolve(date(2024, 1, 5)) == text
    assert p.match(text)
    assert not p.match(text + "x")


def test_adjacent_tokens():
    p = FilePattern.parse("'export_'yyyyMMdd'.csv'")
    assert p.resolve(date(2023, 12, 1)) == "export_20231201.csv"
    assert p.file_date("export_20231201.csv") == date(2023, 12, 1)


def test_unquoted_tokens_in_plain_text():
    p = FilePattern.parse("users-yyyy-MM-dd.avro")
    assert p.resolve(date(2024, 2, 29)) == "users-2024-02-29.avro"


def test_star_inside_and_outside_quotes():
    assert FilePattern.parse("'a/*.csv'").match("a/x.csv")
    assert FilePattern.parse("'a/'*'.csv'").match("a/x.csv")


def test_doubled_quote_is_a_literal_quote():
    p = FilePattern.parse("'it''s/'yyyy''")
    assert p.resolve(date(2024, 1, 1)) == "it's/2024'"
    assert p.match("it's/2024'")


def test_resolve_without_day_shows_tokens():
    assert FilePattern.parse(DOMAIN).resolve() == "files/yyyy/MM/dd/customers-*.csv"


def test_str_and_equality():
    assert str(FilePattern.parse(SEED)) == SEED
    assert FilePattern.parse(SEED) == FilePattern(SEED)


# -- errors -------------------------------------------------------------------------------


def test_unclosed_quote_says_where():
    with pytest.raises(PatternError) as exc:
        FilePattern.parse("'files/'yyyy'/data")
    assert str(exc.value) == "unclosed quote at character 13"


def test_unclosed_quote_at_start():
    with pytest.raises(PatternError, match="unclosed quote at character 1"):
        FilePattern.parse("'files/data.csv")


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_pattern(text):
    with pytest.raises(PatternError, match="file pattern is empty"):
        FilePattern.parse(text)


def test_non_string_pattern():
    with pytest.raises(PatternError, match="must be text"):
        FilePattern.parse(None)


def test_pattern_error_is_a_value_error():
    assert issubclass(PatternError, ValueError)


# -- match --------------------------------------------------------------------------------


def test_match_for_a_day():
    p = FilePattern.parse(DOMAIN)
    day = date(2020, 4, 10)
    assert p.match("files/2020/04/10/customers-1.csv", day)
    assert p.match("files/2020/04/10/customers-.csv", day)  # * may be empty
    assert not p.match("files/2020/04/11/customers-1.csv", day)
    assert not p.match("files/2020/04/10/sub/customers-1.csv", day)
    assert not p.match("files/2020/04/10/customers-1/x.csv", day)  # * stops at /
    assert not p.match("files/2020/04/10/customers-1.csv.gz", day)  # full match


def test_match_any_day_is_all_available_data():
    p = FilePattern.parse(DOMAIN)
    assert p.match("files/2020/04/10/customers-1.csv")
    assert p.match("files/1999/12/31/customers-1.csv")
    assert not p.match("files/20/04/10/customers-1.csv")


def test_match_rejects_impossible_dates():
    p = FilePattern.parse(SEED)
    assert not p.match("path/to/users-2020-02-31.avro")
    assert not p.match("path/to/users-2020-13-01.avro")
    assert p.match("path/to/users-2020-02-29.avro")
    assert p.file_date("path/to/users-2021-02-29.avro") is None


def test_match_is_against_the_full_key():
    p = FilePattern.parse(SEED)
    assert p.match("path/to/users-2024-01-05.avro")
    assert not p.match("prefix/path/to/users-2024-01-05.avro")
    assert not p.match("to/users-2024-01-05.avro")


def test_literal_regex_characters_are_escaped():
    p = FilePattern.parse("'data(1)/a+b.[x].csv'")
    assert p.match("data(1)/a+b.[x].csv")
    assert not p.match("data1/aab.x.csv")


def test_heap_sync_layout_matches():
    p = FilePattern.parse(HEAP)
    m = p.match("sync_852/users/part-00000-0f1e-c000.avro")
    assert m
    assert m.group(0) == "sync_852/users/part-00000-0f1e-c000.avro"
    assert not p.match("sync_852/sessions/part-00000.avro")
    assert not p.match("manifests/sync_852.json")
    # A date has no meaning for an undated pattern.
    assert p.match("sync_852/users/a.avro", date(2024, 1, 1))


def test_repeated_token_must_agree():
    p = FilePattern.parse("yyyy'/'yyyyMMdd'.csv'")
    assert p.match("2024/20240105.csv")
    assert not p.match("2023/20240105.csv")


def test_match_groups():
    m = FilePattern.parse(SEED).match("path/to/users-2024-01-05.avro")
    assert m.group("year", "month", "day") == ("2024", "01", "05")


def test_partial_date_tokens():
    p = FilePattern.parse("'monthly/'yyyy'-'MM'.csv'")
    assert p.match("monthly/2024-03.csv", date(2024, 3, 17))
    assert not p.match("monthly/2024-03.csv", date(2024, 4, 1))
    assert p.file_date("monthly/2024-03.csv") == date(2024, 3, 1)
    q = FilePattern.parse("'daily/'MM'-'dd'.csv'")  # no year: matches, but no date
    assert q.match("daily/02-29.csv")
    assert not q.match("daily/02-30.csv")
    assert q.file_date("daily/02-29.csv") is None


# -- file_date ----------------------------------------------------------------------------


def test_file_date():
    p = FilePattern.parse(DOMAIN)
    assert p.file_date("files/2020/04/10/customers-a.csv") == date(2020, 4, 10)
    assert p.file_date("other/2020/04/10/customers-a.csv") is None
    assert FilePattern.parse(HEAP).file_date("sync_1/users/a.avro") is None


# -- listing_prefix -----------------------------------------------------------------------


def test_listing_prefix_for_a_day():
    p = FilePattern.parse(DOMAIN)
    assert p.listing_prefix(date(2020, 4, 10)) == "files/2020/04/10/customers-"


def test_listing_prefix_any_day_stops_at_first_token():
    assert FilePattern.parse(DOMAIN).listing_prefix(None) == "files/"
    assert FilePattern.parse(SEED).listing_prefix() == "path/to/users-"


def test_listing_prefix_stops_at_star():
    assert FilePattern.parse(HEAP).listing_prefix(date(2024, 1, 1)) == "sync_"
    assert FilePattern.parse("*.csv").listing_prefix(None) == ""


def test_listing_prefix_plain_path_is_the_whole_key():
    assert FilePattern.parse("path/to/users.csv").listing_prefix(None) == "path/to/users.csv"


def test_listing_prefix_of_seed_for_a_day_is_the_key():
    p = FilePattern.parse(SEED)
    assert p.listing_prefix(date(2024, 1, 5)) == "path/to/users-2024-01-05.avro"


# -- days_in ------------------------------------------------------------------------------


def test_days_in_start_inclusive_end_exclusive():
    assert days_in(date(2024, 2, 27), date(2024, 3, 2)) == [
        date(2024, 2, 27),
        date(2024, 2, 28),
        date(2024, 2, 29),
        date(2024, 3, 1),
    ]


def test_days_in_empty():
    assert days_in(date(2024, 1, 5), date(2024, 1, 5)) == []
    assert days_in(date(2024, 1, 6), date(2024, 1, 5)) == []
