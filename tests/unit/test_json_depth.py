"""`values.json_too_deep`: one depth limit for the JSON the library decodes, the same on every Python."""

from __future__ import annotations

from pydantic_aws_settings.values import MAX_JSON_DEPTH, json_too_deep


def test_deeper_than_the_limit_is_too_deep() -> None:
    """One level past MAX_JSON_DEPTH is refused; the limit itself is not."""
    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    past = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    assert not json_too_deep(at_limit)
    assert json_too_deep(past)
    assert json_too_deep(past.encode())


def test_brackets_inside_strings_do_not_count() -> None:
    """A long string full of brackets (escaped quotes included) is one level deep."""
    text = '{"k": "' + '[\\"{' * 1000 + '"}'
    assert not json_too_deep(text)


def test_wide_is_not_deep() -> None:
    """Many siblings at a shallow depth are fine, however long the text."""
    assert not json_too_deep("[" + ",".join(['[1, {"a": [2]}]'] * 5000) + "]")
