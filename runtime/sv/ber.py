"""The few BER pieces the SV fast paths need: one TLV header read and one TLV write.

The generated codec does full decoding; these helpers only find where fields are (to
learn a frame's shape) and lay out a frame template once per stream.
"""

from __future__ import annotations

from gen61850.runtime.errors import DecodeError


def read_header(data: bytes, offset: int, end: int, path: str) -> tuple[int, int, int]:
    """Tag, content offset and content end of the TLV at ``offset`` (single-octet tags)."""
    if offset + 2 > end:
        raise DecodeError(path, offset, "truncated TLV header")
    tag = data[offset]
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 3:
            raise DecodeError(path, offset + 1, f"unsupported length form 0x{first:02x}")
        if pos + count > end:
            raise DecodeError(path, offset + 1, "truncated length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise DecodeError(path, offset, f"length {length} runs past the end ({end - pos} left)")
    return tag, pos, pos + length


def encode_length(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, content: bytes) -> bytes:
    """One TLV with a single-octet tag and the shortest definite length."""
    return bytes((tag,)) + encode_length(len(content)) + content
