"""tasks.ranking: a key between any two keys, in plain string order, kept short."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasks.ranking import KEY_LENGTH_LIMIT, RankError, key_between, keys_in_order, validate

# The suite's autouse fixtures reset state in the test database.
pytestmark = pytest.mark.django_db


def test_the_first_key_and_keys_around_it():
    first = key_between(None, None)
    assert first == "a0"
    assert key_between(first, None) > first
    assert key_between(None, first) < first
    assert first < key_between(first, key_between(first, None)) < key_between(first, None)


def test_keys_in_order_are_short_and_sorted():
    keys = keys_in_order(1000)
    assert keys == sorted(keys)
    assert len(set(keys)) == 1000
    assert max(len(key) for key in keys) <= 4


@pytest.mark.parametrize(("a", "b"), [("a1", "a1"), ("a2", "a1"), ("a0", "Zz")])
def test_no_key_between_a_key_and_one_not_above_it(a, b):
    with pytest.raises(RankError):
        key_between(a, b)


@pytest.mark.parametrize("key", ["", "a", "a10", "b0", "A00000000000000000000000000", "a0-", "a0 "])
def test_invalid_keys_are_refused(key):
    with pytest.raises(RankError):
        validate(key)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=200))
def test_inserting_anywhere_keeps_the_order(positions):
    keys: list[str] = []
    for position in positions:
        index = position % (len(keys) + 1)
        low = keys[index - 1] if index > 0 else None
        high = keys[index] if index < len(keys) else None
        key = key_between(low, high)
        validate(key)
        assert low is None or low < key
        assert high is None or key < high
        keys.insert(index, key)
    assert keys == sorted(keys)


def test_one_gap_split_again_and_again_grows_slowly():
    low, high = "a0", "a1"
    for _ in range(200):
        high = key_between(low, high)
    # About one character per six splits: the column rebalances long before anything breaks.
    assert 30 <= len(high) <= KEY_LENGTH_LIMIT
