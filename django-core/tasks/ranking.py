"""Card order within a board column: fractional index keys.

A task's `rank` is a string; a column lists its tasks by rank (compared byte by byte: the column
uses the "C" collation, and clients compare plain strings), then by id. A key between any two
keys always exists, so a move writes one row — the moved task — and never renumbers its
neighbours. The keys are David Greenspan's "Implementing Fractional Indexing" (2020), the
scheme of the `fractional-indexing` package used by Figma-style editors: an integer part whose
first character encodes its length ("a0", "a1", … "az", "b00", …, and "Zz", "Zy", … below "a0"),
then an optional fraction in base 62 without a trailing zero.

Keys grow by about one character per six moves into the same gap; `KEY_LENGTH_LIMIT` bounds that
and the caller rebalances the column (tasks.services.task_move).
"""

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ZERO = DIGITS[0]
_SMALLEST_INTEGER = "A" + _ZERO * 26

# A key longer than this makes the column rebalance (short keys for every card, in order).
KEY_LENGTH_LIMIT = 48


class RankError(ValueError):
    """Not a valid key, or no key can go where asked (a >= b)."""


def _integer_length(head: str) -> int:
    if "a" <= head <= "z":
        return ord(head) - ord("a") + 2
    if "A" <= head <= "Z":
        return ord("Z") - ord(head) + 2
    raise RankError(f"invalid rank head {head!r}")


def _integer_part(key: str) -> str:
    length = _integer_length(key[0])
    if length > len(key):
        raise RankError(f"invalid rank {key!r}")
    return key[:length]


def validate(key: str) -> None:
    if not key or key == _SMALLEST_INTEGER or any(c not in DIGITS for c in key):
        raise RankError(f"invalid rank {key!r}")
    integer = _integer_part(key)
    if key[len(integer) :].endswith(_ZERO):
        raise RankError(f"invalid rank {key!r}: trailing zero")


def _midpoint(a: str, b: str | None) -> str:
    """A fraction strictly between fractions a and b (b None: above a); neither ends in zero."""
    if b is not None:
        n = 0
        while (a[n] if n < len(a) else _ZERO) == b[n]:
            n += 1
        if n > 0:
            return b[:n] + _midpoint(a[n:], b[n:])
    digit_a = DIGITS.index(a[0]) if a else 0
    digit_b = DIGITS.index(b[0]) if b is not None else len(DIGITS)
    if digit_b - digit_a > 1:
        return DIGITS[(digit_a + digit_b + 1) // 2]
    if b is not None and len(b) > 1:
        return b[:1]
    return DIGITS[digit_a] + _midpoint(a[1:], None)


def _increment_integer(x: str) -> str | None:
    head, digits = x[0], list(x[1:])
    for i in range(len(digits) - 1, -1, -1):
        d = DIGITS.index(digits[i]) + 1
        if d < len(DIGITS):
            digits[i] = DIGITS[d]
            return head + "".join(digits)
        digits[i] = _ZERO
    if head == "Z":
        return "a" + _ZERO
    if head == "z":
        return None
    new_head = chr(ord(head) + 1)
    if new_head > "a":
        digits.append(_ZERO)
    else:
        digits.pop()
    return new_head + "".join(digits)


def _decrement_integer(x: str) -> str | None:
    head, digits = x[0], list(x[1:])
    for i in range(len(digits) - 1, -1, -1):
        d = DIGITS.index(digits[i]) - 1
        if d >= 0:
            digits[i] = DIGITS[d]
            return head + "".join(digits)
        digits[i] = DIGITS[-1]
    if head == "a":
        return "Z" + DIGITS[-1]
    if head == "A":
        return None
    new_head = chr(ord(head) - 1)
    if new_head < "Z":
        digits.append(DIGITS[-1])
    else:
        digits.pop()
    return new_head + "".join(digits)


def key_between(a: str | None, b: str | None) -> str:
    """A key k with a < k < b (None: no bound on that side). Raises RankError when a >= b."""
    if a is not None:
        validate(a)
    if b is not None:
        validate(b)
    if a is not None and b is not None and a >= b:
        raise RankError(f"no rank between {a!r} and {b!r}")
    if a is None:
        if b is None:
            return "a" + _ZERO
        integer_b = _integer_part(b)
        if integer_b == _SMALLEST_INTEGER:
            return integer_b + _midpoint("", b[len(integer_b) :])
        if integer_b < b:
            return integer_b
        lower = _decrement_integer(integer_b)
        if lower is None:
            raise RankError("no rank below the smallest")
        return lower
    integer_a = _integer_part(a)
    fraction_a = a[len(integer_a) :]
    if b is None:
        higher = _increment_integer(integer_a)
        return integer_a + _midpoint(fraction_a, None) if higher is None else higher
    integer_b = _integer_part(b)
    if integer_a == integer_b:
        return integer_a + _midpoint(fraction_a, b[len(integer_b) :])
    higher = _increment_integer(integer_a)
    if higher is None:
        raise RankError("no rank above the largest")
    return higher if higher < b else integer_a + _midpoint(fraction_a, None)


def keys_in_order(count: int) -> list[str]:
    """`count` short keys in ascending order ("a0", "a1", …): a column's ranks rebuilt."""
    keys: list[str] = []
    previous: str | None = None
    for _ in range(count):
        previous = key_between(previous, None)
        keys.append(previous)
    return keys
