"""`from:` and `in:` with plain names, resolved like Slack's escaped forms."""

import pytest

from workers.search.query import QueryError, parse


class Names:
    """A resolver with a fixed directory of one team."""

    def __init__(self) -> None:
        self.channels = {"general": ["C0GEN"], "ops": ["C0OPS"]}
        self.people = {"ana": ["U0ANA"], "twin": ["U0T1", "U0T2"]}
        self.asked: list[str] = []

    def channel(self, name: str) -> list[str]:
        self.asked.append("#" + name)
        return self.channels.get(name.lower(), [])

    def user(self, name: str) -> list[str]:
        self.asked.append("@" + name)
        return self.people.get(name.lower(), [])


@pytest.mark.parametrize(("plain", "escaped"), [
    ("deploy in:#general", "deploy in:<#C0GEN|general>"),
    ("deploy in:general", "deploy in:<#C0GEN>"),
    ("deploy from:@ana", "deploy from:<@U0ANA|ana>"),
    ("deploy from:Ana in:#ops", "deploy from:<@U0ANA> in:<#C0OPS|ops>"),
])
def test_plain_names_mean_what_the_escaped_forms_mean(plain: str, escaped: str) -> None:
    names = Names()
    by_name, by_id = parse(plain, names), parse(escaped, names)
    assert (by_name.in_channels, by_name.from_users) == (by_id.in_channels, by_id.from_users)
    assert by_name.in_channels or by_name.from_users


def test_escaped_forms_and_bare_ids_are_not_looked_up() -> None:
    names = Names()
    query = parse("x in:<#C0GEN|general> from:<@U0ANA|ana> in:C0S3 from:@U0W1", names)
    assert query.in_channels == ["C0GEN", "C0S3"] and query.from_users == ["U0ANA", "U0W1"]
    assert names.asked == []


def test_a_name_several_people_share_finds_all_of_them() -> None:
    assert parse("from:@twin", Names()).from_users == ["U0T1", "U0T2"]


@pytest.mark.parametrize(("raw", "message"), [
    ("deploy in:#foo", "I don't know a channel called #foo."),
    ("deploy from:@nobody", "I don't know anyone called @nobody."),
])
def test_unknown_names_are_a_clear_reply_not_an_empty_result(raw: str, message: str) -> None:
    with pytest.raises(QueryError) as error:
        parse(raw, Names())
    assert str(error.value) == message


def test_something_that_is_no_name_at_all_is_refused() -> None:
    with pytest.raises(QueryError, match="does not name a channel"):
        parse("in:<#general", Names())
