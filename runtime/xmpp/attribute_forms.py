"""Two XER forms of a few components: the child element of our schema, or an attribute.

Public 8-2 traces carry ``scopeOfDelete``, ``moreFollows`` and ``specificationWithResult`` as
XML attributes of their parent (``<deleteNamedVariableList scopeOfDelete="specific"/>``,
``<getNameList moreFollows="false">``), EXTENDED-XER style, where our schema (BASIC-XER)
has child elements. Both endpoints accept both forms on receive (``to_elements`` runs before
the codec, after the depth check), and write the attribute form when told to
(``attribute_form=True`` on ``AcsiServer``/``AcsiClient``: ``to_attributes`` after encoding).
Which components, and how their values read, is the service table's ``ATTRIBUTE_FORMS``.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement

from gen61850.generated.scsm_8_2.codec import NAMESPACE
from gen61850.generated.scsm_8_2.services import ATTRIBUTE_FORMS, AttributeForm
from gen61850.runtime.xmpp.errors import PayloadError

_NS = "{" + NAMESPACE + "}"
_BY_PARENT: dict[str, list[AttributeForm]] = {}
for _form in ATTRIBUTE_FORMS:
    _BY_PARENT.setdefault(_NS + _form.parent, []).append(_form)
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}


def to_elements(payload: Element) -> Element:
    """``payload`` with every attribute form turned into its element (in place); a value
    neither form allows is a PayloadError naming the attribute."""
    for parent in list(payload.iter()):
        forms = _BY_PARENT.get(parent.tag) if parent.attrib else None
        for form in forms or ():
            text = parent.attrib.pop(form.component, None)
            if text is None:
                continue
            where = f"{form.parent}/@{form.component}"
            child = Element(_NS + form.component)
            value = text.strip()
            if form.kind == "boolean":
                if value not in _BOOLEANS:
                    raise PayloadError(where, f"{value[:20]!r}: true or false")
                SubElement(child, _NS + ("true" if _BOOLEANS[value] else "false"))
            else:
                names = dict(form.names)
                if value in names:
                    child.text = str(names[value])
                elif value.isascii() and value.isdigit() and len(value) <= 9:
                    child.text = value
                else:
                    known = ", ".join(names)
                    raise PayloadError(where, f"{value[:20]!r}: one of {known}")
            if form.first:
                parent.insert(0, child)
            else:
                parent.append(child)
    return payload


def to_attributes(payload: Element) -> Element:
    """``payload`` with those components written as attributes (in place)."""
    for parent in list(payload.iter()):
        for form in _BY_PARENT.get(parent.tag, ()):
            child = parent.find(_NS + form.component)
            if child is None:
                continue
            if form.kind == "boolean":
                value = "true" if child.find(_NS + "true") is not None else "false"
            else:
                number = int((child.text or "0").strip())
                value = next((name for name, n in form.names if n == number), str(number))
            parent.remove(child)
            parent.set(form.component, value)
    return payload


__all__ = ["to_attributes", "to_elements"]
