"""The BER generator on every construct it supports (tests/generator/asn1/constructs.asn):
bytes as asn1tools writes them, values as asn1tools reads them, located errors, bounded
nesting, mypy --strict on the output."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import asn1tools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gen61850.generator.asn1 import target
from gen61850.generator.asn1.catalog import ModuleSpec, load_representations
from gen61850.runtime.asn1types import BitString
from gen61850.runtime.errors import DecodeError, EncodeError

SOURCE = Path(__file__).parent / "asn1" / "constructs.asn"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = ModuleSpec(source="constructs.asn", output="constructs.py", locate=("Record",))
    text = target.render_module(spec, load_representations(), SOURCE)
    path = tmp_path_factory.mktemp("constructs") / "constructs_codec.py"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def c(generated: Path) -> ModuleType:
    loaded = importlib.util.spec_from_file_location("constructs_codec", generated)
    assert loaded is not None and loaded.loader is not None
    module = importlib.util.module_from_spec(loaded)
    sys.modules["constructs_codec"] = module
    loaded.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reference() -> Any:
    return asn1tools.compile_files([str(SOURCE)], "ber")


def rich(c: ModuleType) -> Any:
    return c.Record(
        5,
        -300,
        c.PickPlain(c.PlainNo(3)),
        [1, 2, -3],
        ["hé", "x"],
        big=b"ab",
        huge="hi",
        colour=c.Colour.blue,
        count=9,
        flag=False,
        maybe=c.PickNested(c.PickFar(True)),
        inner=c.RecordInner(True, b=c.RecordInnerB.high),
        bits=BitString.from_bits("1011"),
        tagged=-4,
        next=c.Record(1, 2, c.PickText("z"), [], []),
    )


RICH_REFERENCE = {
    "id": 5,
    "wrapped": -300,
    "pick": ("plain", ("no", 3)),
    "numbers": [1, 2, -3],
    "names": ["hé", "x"],
    "big": b"ab",
    "huge": "hi",
    "colour": "blue",
    "count": 9,
    "flag": False,
    "maybe": ("nested", ("far", True)),
    "inner": {"a": True, "b": "high"},
    "bits": (b"\xb0", 4),
    "tagged": -4,
    "next": {"id": 1, "wrapped": 2, "pick": ("text", "z"), "numbers": [], "names": []},
}
# Written out by hand from X.690: [APPLICATION 5] (0x65), explicit [1] around INTEGER,
# [72] as 9f 48, [PRIVATE 300] as ff 82 2c, DEFAULTs left out when equal, ...
RICH_OCTETS = bytes.fromhex(
    "6561800105a1040202fed49f48026162ff822c041a026869830102840109850100980103a606b6049f1f01ff"
    "a7090201010201020201fda808800368c3a9800178a9068001ff8101028a0204b07e030201fcab0f800101"
    "a10302010295017aa700a800"
)


def test_encoding_is_the_octets_x690_gives(c: ModuleType, reference: Any) -> None:
    assert c.encode_record(rich(c)) == RICH_OCTETS
    assert reference.encode("Record", RICH_REFERENCE) == RICH_OCTETS
    assert c.decode_record(RICH_OCTETS) == rich(c)


def test_defaults_are_left_out_when_equal_and_filled_in_when_absent(c: ModuleType) -> None:
    plain = c.Record(1, 2, c.PickText("z"), [], [])
    assert (plain.colour, plain.count, plain.flag) == (c.Colour.green, 7, True)
    octets = c.encode_record(plain)
    assert b"\x83" not in octets[:12] and c.decode_record(octets) == plain


def test_locate_reports_spans_of_primitives(c: ModuleType) -> None:
    value, spans = c.locate_record(RICH_OCTETS)
    assert value == rich(c)
    assert spans[:4] == [
        ("Record.id", 4, 5),
        ("Record.wrapped", 9, 11),
        ("Record.big", 14, 16),
        ("Record.huge", 22, 24),
    ]
    assert ("Record.pick.plain.no", 35, 36) in spans
    assert ("Record.maybe.nested.far", 43, 44) in spans
    assert ("Record.names[1]", 64, 65) in spans
    assert all(RICH_OCTETS[start:stop] for _, start, stop in spans)


def _decode_error(c: ModuleType, data: bytes) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        c.decode_record(data)
    return caught.value


def test_located_errors_of_the_new_constructs(c: ModuleType) -> None:
    # An explicit tag holding two elements.
    two = RICH_OCTETS.replace(bytes.fromhex("a1040202fed4"), bytes.fromhex("a10702020202020101"))
    two = bytes((two[0], two[1] + 3)) + two[2:]
    error = _decode_error(c, two)
    assert (error.path, error.reason) == (
        "Record.wrapped",
        "an explicit tag holds more than one element",
    )
    # The wrong inner tag under an explicit tag.
    wrong = RICH_OCTETS.replace(bytes.fromhex("a1040202fed4"), bytes.fromhex("a1040402fed4"))
    error = _decode_error(c, wrong)
    assert str(error) == "Record.wrapped at offset 7: expected tag 0x02, found 0x04"
    # An unknown alternative.
    bad_pick = RICH_OCTETS.replace(bytes.fromhex("980103"), bytes.fromhex("9f2001ff"))
    bad_pick = bytes((bad_pick[0], bad_pick[1] + 1)) + bad_pick[2:]
    error = _decode_error(c, bad_pick)
    assert error.path == "Record.pick" and "starts none of the alternatives of Pick" in error.reason
    # An ENUMERATED number that is not an item.
    error = _decode_error(c, RICH_OCTETS.replace(bytes.fromhex("830102"), bytes.fromhex("830109")))
    assert str(error) == "Record.colour at offset 24: 9 is not one of Colour"
    # A BIT STRING whose size breaks SIZE (3..12).
    error = _decode_error(
        c, RICH_OCTETS.replace(bytes.fromhex("8a0204b0"), bytes.fromhex("8a0207b0"))
    )
    assert str(error) == "Record.bits at offset 73: 1 bits, expected 3..12"


def test_multi_octet_tags_are_compared_whole(c: ModuleType) -> None:
    assert c.decode_pick(bytes.fromhex("9f1f01ff")) == c.PickFar(True)
    for data in (bytes.fromhex("9f"), bytes.fromhex("9f2001ff")):
        with pytest.raises(DecodeError) as caught:
            c.decode_pick(data)
        assert (
            str(caught.value)
            == "Pick at offset 0: tag 0x9f starts none of the alternatives of Pick"
        )
    missing = RICH_OCTETS.replace(bytes.fromhex("9f48026162"), bytes.fromhex("9f49026162"))
    error = _decode_error(c, missing)
    assert (
        str(error) == "Record.pick at offset 11: tag 0x9f starts none of the alternatives of Pick"
    )


def nested(depth: int) -> bytes:
    element = bytes.fromhex("950141")  # text "A": any leaf, [21] VisibleString
    for _ in range(depth):
        element = (
            bytes((0xB6, len(element))) + element
            if len(element) < 128
            else (b"\xb6\x82" + len(element).to_bytes(2, "big") + element)
        )
    return element


def test_nesting_is_bounded_with_a_located_error_not_recursion_error(c: ModuleType) -> None:
    assert c.decode_pick(nested(31)) is not None
    with pytest.raises(DecodeError) as caught:
        c.decode_pick(nested(2000))
    assert caught.value.reason == "nested more than 32 levels deep"
    assert caught.value.path.startswith("Pick.nested.nested")
    value: Any = c.PickNumber(1)
    for _ in range(2000):
        value = c.PickNested(value)
    with pytest.raises(EncodeError, match="nested more than 32 levels deep"):
        c.encode_pick(value)


pick_leaf = st.one_of(
    st.integers(-(2**40), 2**40).map(lambda n: ("number", n)),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20).map(
        lambda s: ("text", s)
    ),
    st.booleans().map(lambda b: ("far", b)),
    st.integers(-1000, 1000).map(lambda n: ("plain", ("no", n))),
    st.booleans().map(lambda b: ("plain", ("yes", b))),
)
picks = st.recursive(pick_leaf, lambda inner: inner.map(lambda p: ("nested", p)), max_leaves=6)
bit_strings = st.integers(3, 12).flatmap(lambda n: st.text(alphabet="01", min_size=n, max_size=n))
records = st.fixed_dictionaries(
    {
        "id": st.integers(0, 255),
        "wrapped": st.integers(-(2**63), 2**63),
        "pick": picks,
        "numbers": st.lists(st.integers(-(2**31), 2**31), max_size=4),
        "names": st.lists(st.text(max_size=10), max_size=3),
    },
    optional={
        "big": st.binary(min_size=2, max_size=4),
        "huge": st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30),
        "colour": st.sampled_from(["red", "green", "blue"]),
        "count": st.integers(-100, 100),
        "flag": st.booleans(),
        "maybe": picks,
        "inner": st.fixed_dictionaries(
            {"a": st.booleans()}, optional={"b": st.sampled_from(["low", "high"])}
        ),
        "bits": bit_strings,
        "tagged": st.integers(-5, 5),
    },
)


def _ours(c: ModuleType, value: dict[str, Any]) -> Any:
    def pick(p: tuple[str, Any]) -> Any:
        name, inner = p
        if name == "nested":
            return c.PickNested(pick(inner))
        if name == "plain":
            kind, x = inner
            return c.PickPlain(c.PlainYes(x) if kind == "yes" else c.PlainNo(x))
        return {"number": c.PickNumber, "text": c.PickText, "far": c.PickFar}[name](inner)

    keywords: dict[str, Any] = {}
    for key in ("big", "huge", "count", "flag", "tagged"):
        if key in value:
            keywords[key] = value[key]
    if "colour" in value:
        keywords["colour"] = c.Colour[value["colour"]]
    if "maybe" in value:
        keywords["maybe"] = pick(value["maybe"])
    if "inner" in value:
        b = value["inner"].get("b")
        keywords["inner"] = c.RecordInner(
            value["inner"]["a"], b=None if b is None else c.RecordInnerB[b]
        )
    if "bits" in value:
        keywords["bits"] = BitString.from_bits(value["bits"])
    return c.Record(
        value["id"],
        value["wrapped"],
        pick(value["pick"]),
        value["numbers"],
        value["names"],
        **keywords,
    )


def _reference_value(value: dict[str, Any]) -> dict[str, Any]:
    out = dict(value)
    if "bits" in out:
        bits = BitString.from_bits(out["bits"])
        out["bits"] = (bits.octets, bits.length)
    return out


@settings(max_examples=150, deadline=None)
@given(records)
def test_asn1tools_and_we_agree_both_ways(
    c: ModuleType, reference: Any, value: dict[str, Any]
) -> None:
    ours = _ours(c, value)
    theirs = reference.encode("Record", _reference_value(value))
    assert c.decode_record(theirs) == ours
    back = reference.decode("Record", c.encode_record(ours))
    assert c.decode_record(reference.encode("Record", back)) == ours


def test_generated_code_passes_mypy_strict(generated: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(generated)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
