"""The two BER steps the SV fast paths need, on top of the shared ``runtime.ber``.

The generated codec does full decoding; these only find where fields are (to learn a
frame's shape) and lay out a frame template once per stream.
"""

from __future__ import annotations

from gen61850.runtime.ber import element_bounds, encode_length


def read_header(data: bytes, offset: int, end: int, path: str) -> tuple[int, int, int]:
    """Tag, content offset and content end of the TLV at ``offset`` (single-octet tags)."""
    start, stop = element_bounds(data, offset, end, path)
    return data[offset], start, stop


def tlv(tag: int, content: bytes) -> bytes:
    """One TLV with a single-octet tag and the shortest definite length."""
    return bytes((tag,)) + encode_length(len(content)) + content
