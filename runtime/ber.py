"""BER primitives shared by generated codecs: lengths, integers, skipping, error messages.

Generated decoders inline the common case (one-octet tags and short-form lengths) and call
these only for long-form lengths, unknown elements and errors, so they stay off the hot path.
"""

from __future__ import annotations

from typing import Final

from gen61850.runtime.errors import DecodeError

Buffer = bytes | bytearray

# Short-form length octets, precomputed: encoders look them up instead of building them.
SHORT_LENGTHS: Final[tuple[bytes, ...]] = tuple(bytes((n,)) for n in range(128))
_MAX_LENGTH_OCTETS: Final = 4
_MAX_TAG_OCTETS: Final = 6


def encode_length(length: int) -> bytes:
    """BER definite length octets, short form below 128, long form with minimal octets."""
    if length < 128:
        return SHORT_LENGTHS[length]
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def read_long_length(data: Buffer, pos: int, end: int, path: str, start: int) -> tuple[int, int]:
    """Long-form length whose first octet is at ``pos``: (length, offset of the contents).

    ``start`` is the offset of the element's tag, reported in errors.
    """
    count = data[pos] & 0x7F
    if count == 0:
        raise DecodeError(path, start, "indefinite length is not allowed")
    if count > _MAX_LENGTH_OCTETS:
        raise DecodeError(path, start, f"length of {count} octets is too long")
    if pos + 1 + count > end:
        raise DecodeError(path, start, "truncated in the length octets")
    length = int.from_bytes(data[pos + 1 : pos + 1 + count], "big")
    return length, pos + 1 + count


def identifier_end(data: Buffer, pos: int, end: int, path: str) -> int:
    """Offset just after the identifier octets at ``pos`` (one, or more for tag numbers
    above 30: X.690 8.1.2.4)."""
    if pos >= end:
        raise DecodeError(path, pos, "truncated before the tag")
    if data[pos] & 0x1F != 0x1F:
        return pos + 1
    cursor = pos + 1
    while cursor < end and data[cursor] & 0x80:
        cursor += 1
        if cursor - pos > _MAX_TAG_OCTETS:
            raise DecodeError(path, pos, f"tag of more than {_MAX_TAG_OCTETS} octets")
    if cursor >= end:
        raise DecodeError(path, pos, "truncated in the tag")
    return cursor + 1


def element_bounds(data: Buffer, pos: int, end: int, path: str) -> tuple[int, int]:
    """(contents start, contents end) of the element whose tag is at ``pos``; checked."""
    after_tag = identifier_end(data, pos, end, path) if pos < end else pos + 1
    if after_tag + 1 > end:
        raise DecodeError(path, pos, "truncated before the length")
    length = data[after_tag]
    content = after_tag + 1
    if length & 0x80:
        length, content = read_long_length(data, after_tag, end, path, pos)
    if content + length > end:
        raise DecodeError(
            path, pos, f"length {length} runs past the end ({end - content} octets left)"
        )
    return content, content + length


def skip_element(data: Buffer, pos: int, end: int, path: str) -> int:
    """Offset just after the well-formed element at ``pos`` (an unknown extension)."""
    return element_bounds(data, pos, end, path)[1]


def encode_integer(value: int) -> bytes:
    """INTEGER contents: two's complement in the fewest octets (-128 is one octet, 0x80)."""
    magnitude = value if value >= 0 else ~value
    return value.to_bytes(magnitude.bit_length() // 8 + 1, "big", signed=True)


def decode_integer(data: Buffer, start: int, stop: int, path: str, at: int) -> int:
    """INTEGER contents between ``start`` and ``stop``; ``at`` is the element's offset."""
    if stop == start:
        raise DecodeError(path, at, "INTEGER has no content octets")
    return int.from_bytes(data[start:stop], "big", signed=True)


def unexpected_tag(
    data: Buffer, pos: int, end: int, path: str, expected: int | bytes
) -> DecodeError:
    """The error for a missing mandatory element: what was expected and what is there
    (``expected`` is one identifier octet, or several for tag numbers above 30)."""
    if isinstance(expected, int):
        wanted, found = f"0x{expected:02x}", f"0x{data[pos]:02x}" if pos < end else ""
    else:
        wanted = "0x" + expected.hex()
        found = "0x" + bytes(data[pos : min(end, pos + len(expected))]).hex()
    if pos >= end:
        return DecodeError(path, pos, f"missing (expected tag {wanted}, found the end)")
    return DecodeError(path, pos, f"expected tag {wanted}, found {found}")


def wrong_size(path: str, at: int, expected: str, got: int) -> DecodeError:
    """The error for contents whose size breaks the type's SIZE constraint."""
    unit = "octet" if expected == "1" else "octets"
    return DecodeError(path, at, f"expected {expected} {unit}, got {got}")


def not_visible_string(data: Buffer, start: int, stop: int, path: str, at: int) -> DecodeError:
    """The error for a VisibleString with an octet outside 0x20..0x7E (X.680: the visible
    ASCII characters and space; control characters and DEL are not allowed)."""
    bad = next((i for i in range(start, stop) if not 0x20 <= data[i] <= 0x7E), start)
    return DecodeError(
        path, at, f"octet 0x{data[bad]:02x} at offset {bad} is not VisibleString (0x20..0x7e)"
    )
