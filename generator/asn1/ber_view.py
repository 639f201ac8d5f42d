"""From the checked type graph to what the BER templates print: one view class per kind.

``module_view`` turns every SEQUENCE, CHOICE and ENUMERATED of a module into a
``SequenceKind``, ``ChoiceKind`` or ``EnumeratedKind`` (rendered by
``templates/asn1_ber/<kind>.j2``); their components become ``ElementView`` s (tags as
identifier octets, path, docstring, value view). Names, literals and checks are decided
here as text; the templates only place them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from gen61850.generator.asn1 import ber_values as v
from gen61850.generator.asn1.catalog import ModuleSpec
from gen61850.generator.asn1.graph import Resolved, references, resolve, resolve_type
from gen61850.generator.asn1.ir import (
    UNIVERSAL_NUMBERS,
    Builtin,
    Choice,
    Component,
    Enumerated,
    Module,
    Primitive,
    Sequence,
    SequenceOf,
    Tag,
    TagClass,
    Tagging,
    TypeDef,
    TypeRef,
    describe_constraint,
)
from gen61850.generator.asn1.passes.names import pascal
from gen61850.generator.asn1.passes.representation import RepresentationRule
from gen61850.generator.errors import GeneratorError
from gen61850.generator.naming import safe_identifier, snake_case


def identifier(tag: Tag, constructed: bool) -> bytes:
    """BER identifier octets (X.690 8.1.2): one octet up to number 30, more above."""
    first = (tag.tag_class << 6) | (0x20 if constructed else 0)
    if tag.number <= 30:
        return bytes((first | tag.number,))
    digits = [tag.number & 0x7F]
    number = tag.number >> 7
    while number:
        digits.append(0x80 | (number & 0x7F))
        number >>= 7
    return bytes((first | 0x1F, *reversed(digits)))


@dataclass(frozen=True)
class TagView:
    """One identifier as the templates test, expect and write it."""

    octets: bytes

    @property
    def size(self) -> int:
        return len(self.octets)

    @property
    def literal(self) -> str:
        return v.literal(self.octets)

    @property
    def expected(self) -> str:
        """What ``unexpected_tag`` is given: ``0x80`` or ``b"\\x9f\\x48"``."""
        return f"0x{self.octets[0]:02x}" if self.size == 1 else self.literal

    @property
    def differs(self) -> str:
        """A condition true when the element at ``pos`` has another identifier."""
        if self.size == 1:
            return f"data[pos] != 0x{self.octets[0]:02x}"
        return f"data[pos : pos + {self.size}] != {self.literal}"

    @property
    def matches(self) -> str:
        if self.size == 1:
            return f"data[pos] == 0x{self.octets[0]:02x}"
        return f"data[pos : pos + {self.size}] == {self.literal}"


@dataclass(frozen=True)
class WrapperStep:
    """An explicit tag around the rest: read its header, keep its end in ``name``, then
    expect ``inner`` within ``[pos, name)``."""

    tag: TagView
    bound: str
    name: str
    inner: TagView


@dataclass(frozen=True)
class TagChain:
    """Identifiers outermost first: all but the last are explicit wrappers, and the last
    one's contents hold the value. No tags: an untagged CHOICE (it reads its own)."""

    tags: tuple[TagView, ...]

    @property
    def wrappers(self) -> tuple[TagView, ...]:
        return self.tags[:-1]

    @property
    def header(self) -> TagView | None:
        return self.tags[-1] if self.tags else None

    @property
    def steps(self) -> tuple[WrapperStep, ...]:
        names = [f"wrap{i}" for i in range(1, len(self.tags))]
        bounds = ["end", *names]
        return tuple(
            WrapperStep(tag, bounds[i], names[i], self.tags[i + 1])
            for i, tag in enumerate(self.wrappers)
        )

    @property
    def value_bound(self) -> str:
        """What bounds the value's header (or an untagged CHOICE): the last wrapper's end."""
        return f"wrap{len(self.tags) - 1}" if len(self.tags) > 1 else "end"


@dataclass(frozen=True)
class ElementView(TagChain):
    """A component, alternative or item: its tags, path, Python names and value view.

    ``first`` lists the identifiers an untagged CHOICE can start with (presence tests);
    ``encode_when`` is the condition for encoding a keyword-only component (None: always).
    """

    name: str
    attr: str
    var: str
    path: str
    asn1: str
    optional: bool
    default: str | None
    first: tuple[TagView, ...]
    value: v.ValueView
    encode_when: str | None

    @property
    def python_type(self) -> str:
        return self.value.python_type

    @property
    def doc(self) -> str:
        return f"{self.asn1}: {self.value.doc}."

    @property
    def keyword(self) -> bool:
        """Optional and DEFAULT components are keyword-only in the dataclass."""
        return self.optional or self.default is not None

    @property
    def declared_type(self) -> str:
        return f"{self.python_type} | None" if self.optional else self.python_type

    @property
    def initial(self) -> str:
        """The value a keyword-only component has when absent."""
        return "None" if self.default is None else self.default

    @property
    def presence(self) -> str:
        """A condition true when this (keyword-only) element is the next one."""
        if self.tags:
            return f"pos < end and {self.tags[0].matches}"
        if all(t.size == 1 for t in self.first):
            firsts = ", ".join(f"0x{t.octets[0]:02x}" for t in self.first)
            return f"pos < end and data[pos] in ({firsts},)"
        return "pos < end and (" + " or ".join(t.matches for t in self.first) + ")"

    @property
    def starts(self) -> str:
        """A condition on ``tag`` (the octet at ``pos``) and ``data``: true when this
        alternative is the one at ``pos``."""
        tags = self.tags[:1] or self.first
        single = [t for t in tags if t.size == 1]
        tests: list[str] = []
        if len(single) == 1:
            tests.append(f"tag == 0x{single[0].octets[0]:02x}")
        elif single:
            tests.append(f"tag in ({', '.join(f'0x{t.octets[0]:02x}' for t in single)})")
        tests += [t.matches for t in tags if t.size > 1]
        return " or ".join(tests)


@dataclass(frozen=True)
class ItemsView:
    """An items function of a SEQUENCE OF whose items are not records (``<where>[i]``)."""

    function: str
    item: ElementView
    recursive: bool


@dataclass(frozen=True)
class SequenceKind(TagChain):
    kind: ClassVar[str] = "sequence"
    name: str
    snake: str
    definition: str
    fields: tuple[ElementView, ...]
    recursive: bool
    records: bool
    """Some SEQUENCE OF holds this type untagged: emit its record items function."""
    locate: bool
    located: bool
    item_lists: tuple[ItemsView, ...]

    @property
    def mandatory(self) -> tuple[ElementView, ...]:
        return tuple(f for f in self.fields if not f.keyword)

    @property
    def optional(self) -> tuple[ElementView, ...]:
        return tuple(f for f in self.fields if f.keyword)

    @property
    def public(self) -> tuple[str, ...]:
        names = [self.name, f"decode_{self.snake}", f"encode_{self.snake}"]
        return tuple(names + ([f"locate_{self.snake}"] if self.locate else []))


@dataclass(frozen=True)
class AlternativeView:
    class_name: str
    element: ElementView


@dataclass(frozen=True)
class ChoiceKind(TagChain):
    """``tags`` are the CHOICE's own (explicit) tags, usually none."""

    kind: ClassVar[str] = "choice"
    name: str
    snake: str
    definition: str
    alternatives: tuple[AlternativeView, ...]
    recursive: bool
    locate: bool
    located: bool
    item_lists: tuple[ItemsView, ...]

    @property
    def public(self) -> tuple[str, ...]:
        names = [a.class_name for a in self.alternatives]
        names += [self.name, f"decode_{self.snake}", f"encode_{self.snake}"]
        return tuple(names + ([f"locate_{self.snake}"] if self.locate else []))


@dataclass(frozen=True)
class EnumeratedKind:
    kind: ClassVar[str] = "enumerated"
    name: str
    definition: str
    members: tuple[tuple[str, int], ...]
    extensible: bool

    @property
    def public(self) -> tuple[str, ...]:
        return (self.name,)


KindView = SequenceKind | ChoiceKind | EnumeratedKind


@dataclass(frozen=True)
class ModuleView:
    name: str
    kinds: tuple[KindView, ...]
    max_depth: int
    span_example: str

    @property
    def public(self) -> tuple[str, ...]:
        return tuple(name for kind in self.kinds for name in kind.public)

    @property
    def recursive(self) -> bool:
        return any(getattr(kind, "recursive", False) for kind in self.kinds)


def module_view(
    module: Module, spec: ModuleSpec, rules: dict[str, RepresentationRule]
) -> ModuleView:
    """Every SEQUENCE, CHOICE and ENUMERATED of the module, in dependency order."""
    return _Viewer(module, spec, rules).build()


class _Viewer:
    def __init__(
        self, module: Module, spec: ModuleSpec, rules: dict[str, RepresentationRule]
    ) -> None:
        self.module = module
        self.spec = spec
        self.rules = rules
        self.located = self._located(spec.locate)
        self.items_of: dict[str, list[ItemsView]] = {}
        self.record_items: set[str] = set()

    def where(self, path: str) -> str:
        return f"{self.module.source_name}:{path}"

    def _located(self, names: tuple[str, ...]) -> set[str]:
        """Types whose private locate functions exist: those asked for, and what they use."""
        found: set[str] = set()
        todo = list(names)
        for name in names:
            if self.module.find(name) is None:
                raise GeneratorError(
                    f"{self.spec.source_name}: locate", f"{name} is not a type of the module"
                )
        while todo:
            name = todo.pop()
            if name not in found:
                found.add(name)
                todo.extend(references(self.module.get(name).type))
        return found

    def build(self) -> ModuleView:
        constructed = [
            t for t in self.module.types if isinstance(t.type, Sequence | Choice | Enumerated)
        ]
        drafts = [self.kind(t) for t in constructed]
        # Items functions and record flags are found while the fields are built.
        kinds: list[KindView] = []
        for draft in drafts:
            if isinstance(draft, SequenceKind):
                draft = replace(
                    draft,
                    records=draft.name in self.record_items,
                    item_lists=tuple(self.items_of.get(draft.name, ())),
                )
            elif isinstance(draft, ChoiceKind):
                draft = replace(draft, item_lists=tuple(self.items_of.get(draft.name, ())))
            kinds.append(draft)
        return ModuleView(
            self.module.name, tuple(kinds), self.spec.max_depth, self.spec.locate_example
        )

    def kind(self, typedef: TypeDef) -> KindView:
        name = safe_identifier(typedef.name)
        tags = _ber_tags(resolve_type(self.module, typedef))
        if isinstance(typedef.type, Enumerated):
            members = tuple((safe_identifier(n), number) for n, number in typedef.type.items)
            return EnumeratedKind(
                name, self.definition(typedef, "ENUMERATED"), members, typedef.type.extensible
            )
        located = typedef.name in self.located
        locate = typedef.name in self.spec.locate
        if isinstance(typedef.type, Sequence):
            fields = tuple(
                self.element(c, f'where + ".{c.name}"', typedef) for c in typedef.type.components
            )
            return SequenceKind(
                tags,
                name,
                snake_case(typedef.name),
                self.definition(typedef, "SEQUENCE"),
                fields,
                typedef.recursive,
                records=False,
                locate=locate,
                located=located,
                item_lists=(),
            )
        assert isinstance(typedef.type, Choice)
        alternatives = tuple(
            AlternativeView(
                safe_identifier(typedef.name + pascal(c.name)),
                self.element(c, f'where + ".{c.name}"', typedef),
            )
            for c in typedef.type.alternatives
        )
        return ChoiceKind(
            tags,
            name,
            snake_case(typedef.name),
            self.definition(typedef, "CHOICE"),
            alternatives,
            typedef.recursive,
            locate=locate,
            located=located,
            item_lists=(),
        )

    def definition(self, typedef: TypeDef, keyword: str) -> str:
        tag = ""
        if typedef.tag is not None:
            tag = f"{typedef.tag.text()} {_keyword(typedef.tagging)}"
        return f"{typedef.name} ::= {tag}{keyword}"

    def element(self, component: Component, path: str, owner: TypeDef) -> ElementView:
        """``owner``: the type whose functions decode and encode this element."""
        resolved = resolve(self.module, component)
        tags = _ber_tags(resolved)
        var = "v_" + snake_case(component.name)
        value = self.value(resolved, tags, var, owner, f"{owner.name}.{component.name}")
        attr = safe_identifier(component.name)
        default = self.default(component, resolved)
        encode_when = None
        if component.optional:
            encode_when = f"value.{attr} is not None"
        elif default is not None and not self.spec.encode_defaults:
            encode_when = f"value.{attr} != {default}"
        return ElementView(
            tags,
            name=component.name,
            attr=attr,
            var=var,
            path=path,
            asn1=self.asn1_text(component, resolved),
            optional=component.optional,
            default=default,
            first=() if tags else self.first_tags(resolved),
            value=value,
            encode_when=encode_when,
        )

    def first_tags(self, resolved: Resolved) -> tuple[TagView, ...]:
        """The identifiers an untagged CHOICE can start with, sorted."""
        named = resolved.named
        assert named is not None and isinstance(named.type, Choice)
        found: set[bytes] = set()
        for alternative in named.type.alternatives:
            inner = resolve(self.module, alternative)
            tags = _ber_tags(inner)
            found.update(t.octets for t in tags[:1])
            if not tags:
                found.update(t.octets for t in self.first_tags(inner))
        return tuple(TagView(o) for o in sorted(found))

    def asn1_text(self, component: Component, resolved: Resolved) -> str:
        parts: list[str] = []
        if component.tag is not None:
            keyword = "" if _only_explicit(resolved) else _keyword(component.tagging)
            parts.append(f"{component.tag.text()} {keyword}".strip())
        written = resolved.written
        if isinstance(component.type, SequenceOf):
            item = component.type.item
            item_text = resolve(self.module, item).written
            written = f"SEQUENCE OF {item_text}"
        parts.append(written)
        if component.optional:
            parts.append("OPTIONAL")
        if component.default is not None:
            parts.append(f"DEFAULT {_asn1_value(component.default)}")
        return " ".join(parts)

    def default(self, component: Component, resolved: Resolved) -> str | None:
        value = component.default
        if value is None:
            return None
        if isinstance(resolved.base, Enumerated):
            assert resolved.named is not None
            return f"{safe_identifier(resolved.named.name)}.{safe_identifier(str(value))}"
        return repr(value)

    @staticmethod
    def depth(callee: TypeDef, caller: TypeDef) -> str:
        """The depth argument of a call into ``callee``'s functions from ``caller``'s."""
        if not callee.recursive:
            return ""
        return ", depth + 1" if caller.recursive else ", 0"

    def value(
        self, resolved: Resolved, tags: tuple[TagView, ...], var: str, owner: TypeDef, where: str
    ) -> v.ValueView:
        base = resolved.base
        if resolved.representation is not None:
            return self.represented(resolved, tags, where)
        if isinstance(base, Primitive):
            return self.primitive(base, resolved, var)
        if isinstance(base, SequenceOf):
            return self.sequence_of(base, resolved, var, owner, where)
        named = resolved.named
        assert named is not None
        type_name = safe_identifier(named.name)
        if isinstance(base, Enumerated):
            return v.EnumeratedView(type_name, f"one of {type_name}")
        if isinstance(base, Sequence):
            return v.SequenceCallView(
                type_name,
                "nested SEQUENCE",
                function=f"{snake_case(named.name)}_contents",
                depth=self.depth(named, owner),
            )
        call = v.ChoiceCallView if tags else v.UntaggedChoiceCallView
        return call(
            type_name,
            "one of its alternatives",
            function=f"{snake_case(named.name)}_element",
            depth=self.depth(named, owner),
        )

    def represented(self, resolved: Resolved, tags: tuple[TagView, ...], where: str) -> v.ValueView:
        representation = resolved.representation
        assert representation is not None
        doc = self.rules[representation].doc
        if representation == "unsigned-octets":
            width = resolved.size[0].minimum or 1
            literal = v.literal(tags[0].octets + bytes((width,))) if len(tags) == 1 else ""
            return v.UnsignedOctetsView("int", doc, width, literal)
        if representation == "utc-time":
            return v.UtcTimeView("UtcTime", doc)
        if representation == "mms-floating-point":
            return v.MmsFloatView("MmsFloat", doc)
        raise GeneratorError(
            self.where(where), f"the BER codec has no representation {representation!r}"
        )

    def primitive(self, base: Primitive, resolved: Resolved, var: str) -> v.ValueView:
        builtin = base.builtin
        if builtin is Builtin.INTEGER:
            return v.IntegerView(
                "int",
                "INTEGER",
                v.check(var, resolved.value_range),
                describe_constraint(resolved.value_range),
            )
        if builtin is Builtin.BOOLEAN:
            return v.BooleanView("bool", "true or false")
        if builtin is Builtin.OCTET_STRING:
            return v.OctetsView.sized("bytes", "raw octets", resolved.size)
        if builtin is Builtin.VISIBLE_STRING:
            return v.VisibleStringView.sized("str", "ASCII text", resolved.size)
        if builtin is Builtin.UTF8_STRING:
            return v.Utf8StringView.sized("str", "Unicode text, UTF-8 on the wire", resolved.size)
        if builtin is Builtin.BIT_STRING:
            return v.BitStringView.sized("BitString", "bits", resolved.size, "bits")
        return v.OpenTypeView(
            "bytes", "the whole encoding (tag, length, contents) of the open value"
        )

    def sequence_of(
        self, base: SequenceOf, resolved: Resolved, var: str, owner: TypeDef, where: str
    ) -> v.ListView:
        item = base.item
        item_resolved = resolve(self.module, item)
        item_named = item_resolved.named
        count_check = v.check(f"len({var})", resolved.size)
        count_text = describe_constraint(resolved.size)
        untagged_ref = item.tag is None and isinstance(item.type, TypeRef)
        if untagged_ref and item_named is not None and isinstance(item_resolved.base, Sequence):
            # Records (SV's ASDU): one items function on the record type, paths ASDU[i].
            self.record_items.add(item_named.name)
            snake = snake_case(item_named.name)
            tags = _ber_tags(item_resolved)
            return v.ListView(
                f"list[{safe_identifier(item_named.name)}]",
                "items in order",
                function=f"{snake}_items",
                depth=self.depth(item_named, owner),
                where=False,
                count_check=count_check,
                count_text=count_text,
                record=True,
                item_tag=tags[0].literal,
                item_function=f"{snake}_contents",
                item_type=item_named.name,
            )
        if untagged_ref and item_named is not None:
            home = item_named  # one items function per item type (Data in several places)
            function = f"{snake_case(item_named.name)}_items"
        else:
            home = owner  # one per component
            function = f"{snake_case(owner.name)}_{snake_case(where.split('.')[-1])}_items"
        element = self.element(item, "where", home)
        # The items function passes depth on when its items nest (Data in Data).
        recursive = getattr(element.value, "depth", "") == ", depth + 1"
        lists = self.items_of.setdefault(home.name, [])
        if function not in {i.function for i in lists}:
            lists.append(ItemsView(function, element, recursive))
        depth = (", depth" if owner.recursive else ", 0") if recursive else ""
        return v.ListView(
            f"list[{element.python_type}]",
            "items in order",
            function=function,
            depth=depth,
            count_check=count_check,
            count_text=count_text,
        )


def _ber_tags(resolved: Resolved) -> tuple[TagView, ...]:
    """The identifiers an element carries, outermost first (X.690 8.14)."""
    levels: list[tuple[Tag, Tagging | None]] = list(resolved.tags)
    base = resolved.base
    constructed = isinstance(base, Sequence | SequenceOf)
    out: list[TagView] = []
    index = 0
    while index < len(levels):
        tag, tagging = levels[index]
        if tagging is Tagging.IMPLICIT:
            # This tag replaces the next one: the next level's, or the type's own.
            if index + 1 < len(levels):
                levels[index + 1] = (tag, levels[index + 1][1])
                index += 1
                continue
            out.append(TagView(identifier(tag, constructed)))
            return tuple(out)
        out.append(TagView(identifier(tag, True)))  # explicit: a constructed wrapper
        index += 1
    universal = _universal(base)
    if universal is not None:
        out.append(TagView(identifier(universal, constructed)))
    return tuple(out)


def _universal(base: object) -> Tag | None:
    if isinstance(base, Sequence | SequenceOf):
        return Tag(TagClass.UNIVERSAL, UNIVERSAL_NUMBERS["SEQUENCE"])
    if isinstance(base, Enumerated):
        return Tag(TagClass.UNIVERSAL, UNIVERSAL_NUMBERS["ENUMERATED"])
    if isinstance(base, Primitive) and base.builtin is not Builtin.ANY:
        return Tag(TagClass.UNIVERSAL, UNIVERSAL_NUMBERS[base.builtin.value])
    return None


def _only_explicit(resolved: Resolved) -> bool:
    """The component's own tag had to be explicit (an untagged CHOICE or ANY below it)."""
    return len(resolved.tags) == 1 and (
        isinstance(resolved.base, Choice)
        or (isinstance(resolved.base, Primitive) and resolved.base.builtin is Builtin.ANY)
    )


def _keyword(tagging: Tagging | None) -> str:
    return "" if tagging is None else f"{tagging.value} "


def _asn1_value(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)
