"""Resource quantities (``500m``, ``1Gi``, ``1e3``) as the resource isolators use them.

The Go reference vendors Kubernetes' ``resource.Quantity``; :class:`Quantity`
accepts and rejects the same strings (``100K`` is invalid: suffixes are
case-sensitive), rounds up to nano precision, remembers the suffix family
(decimal SI, binary SI, or an exponent) and prints the same canonical form.
Values compare by their amount: ``Quantity.parse("1Ki") == Quantity.parse("1024")``.

>>> str(Quantity.parse("1.5")), str(Quantity.parse("2.5Gi")), str(Quantity.parse("0.1m"))
('1500m', '2560Mi', '100u')
>>> Quantity.parse("1.5").value(), Quantity.parse("1.5").milli_value()
(2, 1500)
"""

from __future__ import annotations

import functools

from typing import Literal, Self

import attrs

from appc.errors import InvalidQuantity


__all__ = [
    "MAX_INTEGER_DIGITS",
    "MAX_QUANTITY_LENGTH",
    "MAX_QUANTITY_SCALE",
    "Quantity",
    "QuantityFormat",
]

QuantityFormat = Literal["DecimalSI", "BinarySI", "DecimalExponent"]

MAX_QUANTITY_LENGTH = 4096
"""Longest quantity string accepted, in characters.

Go has no limit; this one keeps every step of parsing and printing linear
and below Python's 4300-digit ceiling on ``int <-> str`` conversions.
"""

MAX_QUANTITY_SCALE = 10_000_000
"""Most digits Go may need to round a quantity; past it ``appc`` refuses the quantity.

To round an amount to nano precision Go builds ``10**n``, where ``n`` is
about how far the amount's exponent lies from ``-9`` (``1e-10000000`` needs
ten million digits and takes Go seconds; a larger one never finishes, and
``actool`` gives no verdict). Amounts that Go stores without rounding, such
as ``1e2147483647``, are not affected.
"""

MAX_INTEGER_DIGITS = 4300
"""Most decimal digits :meth:`Quantity.value` and friends will build."""

_DIGITS = frozenset("0123456789")
_SUFFIX_LETTERS = frozenset("eEinumkKMGTP")
_MAX_INT64 = 2**63 - 1
_NANO = -9
# (base, exponent, format) for each fixed suffix (resource/suffix.go).
_SUFFIXES: dict[str, tuple[int, int, QuantityFormat]] = {
    "": (10, 0, "DecimalSI"),
    "n": (10, -9, "DecimalSI"),
    "u": (10, -6, "DecimalSI"),
    "m": (10, -3, "DecimalSI"),
    "k": (10, 3, "DecimalSI"),
    "M": (10, 6, "DecimalSI"),
    "G": (10, 9, "DecimalSI"),
    "T": (10, 12, "DecimalSI"),
    "P": (10, 15, "DecimalSI"),
    "E": (10, 18, "DecimalSI"),
    "Ki": (2, 10, "BinarySI"),
    "Mi": (2, 20, "BinarySI"),
    "Gi": (2, 30, "BinarySI"),
    "Ti": (2, 40, "BinarySI"),
    "Pi": (2, 50, "BinarySI"),
    "Ei": (2, 60, "BinarySI"),
}
_DECIMAL_NAMES = {
    exponent: name for name, (base, exponent, _) in _SUFFIXES.items() if base == 10
}
_BINARY_NAMES = {
    exponent: name for name, (base, exponent, _) in _SUFFIXES.items() if base == 2
}

# Go's messages (resource/quantity.go).
_FORMAT_WRONG = (
    "quantities must match the regular expression "
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)
_NUMERIC = "unable to parse numeric part of quantity"
_SUFFIX = "unable to parse quantity's suffix"

# What Go's strings.TrimSpace removes (unicode.IsSpace), for from_json_token.
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"


def _wrap32(number: int) -> int:
    # Go keeps scales in int32 and lets them wrap.
    return (number + 2**31) % 2**32 - 2**31


def _strip_tens(coefficient: int, exponent: int) -> tuple[int, int]:
    if coefficient == 0:
        return 0, 0
    while coefficient % 10 == 0:
        coefficient //= 10
        exponent += 1
    return coefficient, exponent


def _digit_count(number: int) -> int:
    # An upper bound on the decimal digits of |number|, without str().
    return abs(number).bit_length() * 30103 // 100000 + 1


def _check_int(value: object) -> None:
    if type(value) is not int:
        raise InvalidQuantity(value, "the coefficient and exponent must be integers")


def _check_format(value: object) -> None:
    if value not in {"DecimalSI", "BinarySI", "DecimalExponent"}:
        raise InvalidQuantity(
            value, "format must be DecimalSI, BinarySI or DecimalExponent"
        )


def _pow10(power: int) -> int:
    result: int = 10**power
    return result


def _exceeds_int64(magnitude: int, power: int) -> bool:
    if power >= 0:
        return (
            _digit_count(magnitude) + power > 20
            or magnitude * _pow10(power) > _MAX_INT64
        )
    return magnitude > _MAX_INT64 * _pow10(-power)


def _divide_away_from_zero(coefficient: int, places: int) -> int:
    """coefficient / 10**places rounded away from zero, for places > 0."""
    if coefficient == 0:
        return 0
    if places > _digit_count(coefficient):
        return 1 if coefficient > 0 else -1
    quotient, remainder = divmod(abs(coefficient), _pow10(places))
    if remainder:
        quotient += 1
    return quotient if coefficient > 0 else -quotient


@functools.total_ordering
@attrs.frozen(eq=False)
class Quantity:
    """A resource quantity: an exact amount (``coefficient * 10**exponent``) and a format.

    Build one with :meth:`parse`; the constructor takes the amount as is.

    >>> Quantity.parse("1024Mi") == Quantity.parse("1Gi")
    True
    >>> str(Quantity.parse("1024Mi"))
    '1Gi'
    >>> Quantity.parse("100K")
    Traceback (most recent call last):
    ...
    appc.errors.InvalidQuantity: unable to parse quantity's suffix
    """

    coefficient: int = attrs.field(validator=lambda _, __, value: _check_int(value))
    exponent: int = attrs.field(
        default=0, validator=lambda _, __, value: _check_int(value)
    )
    format: QuantityFormat = attrs.field(
        default="DecimalSI", validator=lambda _, __, value: _check_format(value)
    )
    # The input, when Go keeps it as the string form (``+2``, ``1Gi``).
    _text: str | None = attrs.field(default=None, repr=False, alias="_text")

    @classmethod
    def parse(cls, text: str) -> Self:
        """Parse a quantity string as Go's ``resource.ParseQuantity`` does.

        >>> Quantity.parse("+2")
        Quantity(coefficient=2, exponent=0, format='DecimalSI')
        >>> str(Quantity.parse("+2"))
        '+2'
        """
        if not isinstance(text, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidQuantity(
                text, f"quantity must be a string, not {type(text).__name__}"
            )
        if len(text) > MAX_QUANTITY_LENGTH:
            raise InvalidQuantity(
                text[:64] + "...",
                f"quantity is longer than {MAX_QUANTITY_LENGTH} characters",
            )
        if not text:
            raise InvalidQuantity(text, _FORMAT_WRONG)
        if text == "0":
            return cls(0, 0, "DecimalSI", _text=text)
        positive, number, whole, fraction, suffix = _split(text)
        base, exponent, form = _interpret(text, suffix)
        fast = _parse_fast(
            positive=positive,
            whole=whole,
            fraction=fraction,
            base=base,
            exponent=exponent,
            form=form,
        )
        if fast is not None:
            coefficient, scale, keep = fast
            return cls(
                *_strip_tens(coefficient, scale), form, _text=text if keep else None
            )
        return cls._parse_exact(text, number, base, exponent, form)

    @classmethod
    def _parse_exact(
        cls, text: str, number: str, base: int, exponent: int, form: QuantityFormat
    ) -> Self:
        # Go's arbitrary-precision path (inf.Dec), reduced to exact integers.
        unsigned = number.lstrip("+-")
        whole, dot, fraction = unsigned.partition(".")
        if number[1:].count("+") + number[1:].count("-") or not (whole + fraction):
            raise InvalidQuantity(text, _NUMERIC)
        coefficient = int(whole + fraction)
        if number.startswith("-"):
            coefficient = -coefficient
        # Go's inf.Dec keeps a 32-bit scale (the negated power of ten).
        scale = len(fraction) if dot else 0
        if base == 10:
            scale = _wrap32(scale + _wrap32(-exponent))
        else:
            coefficient <<= exponent
        if coefficient and abs(_wrap32(-_NANO - scale)) > MAX_QUANTITY_SCALE:
            raise InvalidQuantity(
                text,
                f"quantity needs more than {MAX_QUANTITY_SCALE} digits to round"
                " (the reference implementation does not finish)",
            )
        power = -scale
        sign = -1 if coefficient < 0 else 1
        magnitude = abs(coefficient)
        if magnitude and power < _NANO:
            magnitude = _divide_away_from_zero(magnitude, _NANO - power)
            power = _NANO
        magnitude, power = _strip_tens(magnitude, power)
        if form == "BinarySI":
            if _exceeds_int64(magnitude, power):
                magnitude, power = _strip_tens(_MAX_INT64, 0)
            if magnitude and power < 0 and magnitude < _pow10(-power):
                # 0 < amount < 1: Go prints it in decimal.
                form = "DecimalSI"
        return cls(sign * magnitude, power, form)

    @classmethod
    def from_json_token(cls, token: str) -> Self:
        """Parse the raw JSON text of a quantity, as Go's ``UnmarshalJSON`` does.

        Go drops one pair of surrounding quotes without unescaping, then
        white space, so JSON numbers (``0.5``) work as well as strings.

        >>> str(Quantity.from_json_token("0.5")), str(Quantity.from_json_token('" 1Gi "'))
        ('500m', '1Gi')
        """
        if not isinstance(token, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidQuantity(
                token, f"quantity must be a string, not {type(token).__name__}"
            )
        if len(token) >= 2 and token[0] == '"' and token[-1] == '"':
            token = token[1:-1]
        return cls.parse(token.strip(_GO_SPACE))

    def sign(self) -> int:
        """-1, 0 or 1, as the amount is negative, zero or positive.

        >>> Quantity.parse("-1m").sign()
        -1
        """
        return (self.coefficient > 0) - (self.coefficient < 0)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return _strip_tens(self.coefficient, self.exponent) == _strip_tens(
            other.coefficient, other.exponent
        )

    def __hash__(self) -> int:
        return hash(_strip_tens(self.coefficient, self.exponent))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Quantity):
            return NotImplemented
        return _compare(self, other) < 0

    def is_zero(self) -> bool:
        """Whether the amount is zero.

        >>> Quantity.parse("0Mi").is_zero()
        True
        """
        return self.coefficient == 0

    def scaled_value(self, power: int) -> int:
        """The amount in units of ``10**power``, rounded away from zero.

        >>> Quantity.parse("1.5Gi").scaled_value(6)
        1611
        """
        coefficient, exponent = _strip_tens(self.coefficient, self.exponent)
        shift = exponent - power
        if shift >= 0:
            if coefficient and _digit_count(coefficient) + shift > MAX_INTEGER_DIGITS:
                raise InvalidQuantity(
                    str(self),
                    f"quantity has more than {MAX_INTEGER_DIGITS} digits as an integer",
                )
            return coefficient * _pow10(shift)
        return _divide_away_from_zero(coefficient, -shift)

    def value(self) -> int:
        """The amount as an integer, rounded away from zero (Go's ``Value()``).

        >>> Quantity.parse("100m").value()
        1
        """
        return self.scaled_value(0)

    def milli_value(self) -> int:
        """The amount in thousandths, rounded away from zero (Go's ``MilliValue()``).

        >>> Quantity.parse("0.5").milli_value()
        500
        """
        return self.scaled_value(-3)

    def __str__(self) -> str:
        if self._text is not None:
            return self._text
        if self.coefficient == 0:
            return "0"
        form = self.format
        if form == "BinarySI":
            integer = self._as_small_integer()
            if integer is None or -1024 < integer < 1024:
                form = "DecimalSI"
            else:
                return _binary_string(integer)
        coefficient, exponent = _strip_tens(self.coefficient, self.exponent)
        remainder = exponent % 3
        coefficient *= _pow10(remainder)
        exponent -= remainder
        if form == "DecimalSI" and exponent in _DECIMAL_NAMES:
            return f"{coefficient}{_DECIMAL_NAMES[exponent]}"
        # Go prints a decimal amount past "E" with no suffix at all (1000E
        # becomes "1"); the exponent form keeps the amount.
        return f"{coefficient}e{exponent}" if exponent else str(coefficient)

    def _as_small_integer(self) -> int | None:
        coefficient, exponent = _strip_tens(self.coefficient, self.exponent)
        if exponent < 0 or _digit_count(coefficient) + exponent > 40:
            return None
        return coefficient * _pow10(exponent)


def _binary_string(integer: int) -> str:
    times = 0
    while integer % 1024 == 0 and times < 6:
        integer //= 1024
        times += 1
    return f"{integer}{_BINARY_NAMES[times * 10] if times else ''}"


def _compare(left: Quantity, right: Quantity) -> int:
    left_sign, right_sign = left.sign(), right.sign()
    if left_sign != right_sign or left_sign == 0:
        return (left_sign > right_sign) - (left_sign < right_sign)
    a, a_exp = _strip_tens(abs(left.coefficient), left.exponent)
    b, b_exp = _strip_tens(abs(right.coefficient), right.exponent)
    # Compare orders of magnitude first so that 1e2000000000 costs nothing.
    a_size = _digit_count(a) + a_exp
    b_size = _digit_count(b) + b_exp
    if abs(a_size - b_size) > 2:
        result = 1 if a_size > b_size else -1
    else:
        low = min(a_exp, b_exp)
        a_scaled, b_scaled = a * _pow10(a_exp - low), b * _pow10(b_exp - low)
        result = (a_scaled > b_scaled) - (a_scaled < b_scaled)
    return result * left_sign


def _split(text: str) -> tuple[bool, str, str, str, str]:
    """Cut a quantity into sign, number text, whole digits, fraction digits, suffix."""
    end = len(text)
    position = 0
    positive = True
    if text[0] in "+-":
        positive = text[0] == "+"
        position = 1
    while position < end and text[position] == "0":
        position += 1
    if position == end:
        return positive, "0", "0", "", ""
    start = position
    while position < end and text[position] in _DIGITS:
        position += 1
    if position == end:
        return positive, text, text[start:], "", ""
    whole = text[start:position] or "0"
    fraction = ""
    if text[position] == ".":
        position += 1
        fraction_start = position
        while position < end and text[position] in _DIGITS:
            position += 1
        fraction = text[fraction_start:position]
        if position == end:
            return positive, text, whole, fraction, ""
    number = text[:position]
    suffix_start = position
    while position < end and text[position] in _SUFFIX_LETTERS:
        position += 1
    if position < end and text[position] in "+-":
        position += 1
    while position < end and text[position] in _DIGITS:
        position += 1
    if position < end:
        raise InvalidQuantity(text, _FORMAT_WRONG)
    return positive, number, whole, fraction, text[suffix_start:]


def _interpret(text: str, suffix: str) -> tuple[int, int, QuantityFormat]:
    known = _SUFFIXES.get(suffix)
    if known is not None:
        return known
    if len(suffix) > 1 and suffix[0] in "eE":
        digits = suffix[1:]
        unsigned = digits[1:] if digits[0] in "+-" else digits
        if unsigned and all(char in _DIGITS for char in unsigned):
            exponent = int(digits)
            if -(2**63) <= exponent <= _MAX_INT64:
                return 10, _wrap32(exponent), "DecimalExponent"
    raise InvalidQuantity(text, _SUFFIX)


def _parse_fast(
    *,
    positive: bool,
    whole: str,
    fraction: str,
    base: int,
    exponent: int,
    form: QuantityFormat,
) -> tuple[int, int, bool] | None:
    """Go's int64 path: (coefficient, power of ten, keep the text) or None."""
    multiplier = 1
    if base == 10:
        scale = exponent
        precision = 18 - (len(whole) + len(fraction))
    elif exponent >= 0 and not fraction:
        scale = 0
        multiplier = 1 << exponent
        precision = 15 - len(whole) - (exponent * 3 // 10) - 1
    else:
        return None
    if precision < 0:
        return None
    scale = _wrap32(scale - len(fraction))
    if scale < _NANO:
        return None
    shifted = whole + fraction
    number = int(shifted)
    # The precision rule keeps this within int64, as in Go.
    result = number * multiplier
    if not positive:
        result = -result
    if form == "BinarySI":
        keep = exponent % 10 == 0 and number & 7 != 0
    else:
        keep = scale % 3 == 0 and not shifted.endswith("000") and shifted[0] != "0"
    return result, scale, keep
