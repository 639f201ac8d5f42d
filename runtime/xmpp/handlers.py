"""Server side of the ACSI services over a ``ServedModel`` (sans-I/O): one method per MMS service.

Implements the generated ``ServiceHandlers`` protocol. Whole-request failures raise
``ServiceFailure`` (answered with a confirmed-ErrorPDU); per-variable failures become
DataAccessError members of the answer. Directory answers are paged to fit the negotiated
maximum PDU size (``moreFollows`` and ``continueAfter``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from gen61850.generated.scsm_8_2.bindings import (
    AccessResult,
    AlternateAccess,
    DefineNamedVariableListRequest,
    DeleteNamedVariableListRequest,
    DeleteNamedVariableListResponse,
    DirectoryEntry,
    DomainSpecificName,
    FileAttributes,
    FileDirectoryRequest,
    FileDirectoryResponse,
    FileName,
    GetNamedVariableListAttributesResponse,
    GetNameListRequest,
    GetNameListResponse,
    GetVariableAccessAttributesRequest,
    GetVariableAccessAttributesResponse,
    ListOfAccessResult,
    ListOfDirectoryEntry,
    ListOfIdentifier,
    ListOfVariable,
    Null,
    ObjectName,
    ReadRequest,
    ReadResponse,
    VariableAccessSpecification,
    VariableDef,
    VariableSpecification,
    WriteRequest,
    WriteResponse,
    WriteResult,
)
from gen61850.runtime.device import MAX_NAME_LENGTH
from gen61850.runtime.xmpp import mapping
from gen61850.runtime.xmpp.mapping import DataAccessError
from gen61850.runtime.xmpp.model import AccessFailure, NamedList, ServedModel
from gen61850.runtime.xmpp.values import boolean, is_true

OBJECT_CLASS_NAMED_VARIABLE = 0
OBJECT_CLASS_NAMED_VARIABLE_LIST = 2
OBJECT_CLASS_DOMAIN = 9
MAX_DATA_SET_MEMBERS = 256
NAME_OVERHEAD = 26  # <Identifier>…</Identifier> around each name
PAGE_RESERVE = 600  # stanza, association context and response envelope
FILE_ENTRY_OVERHEAD = 200  # the elements of one DirectoryEntry around its name


def generalized_time(seconds: float) -> str:
    """GeneralizedTime string form (UTC) of a POSIX time."""
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%Y%m%d%H%M%SZ")


class ServiceFailure(Exception):
    """The whole request fails: answered with a confirmed-ErrorPDU of this class and code."""

    def __init__(self, error: tuple[str, int], description: str) -> None:
        self.error = error
        self.description = description
        super().__init__(description)


@dataclass
class CallContext:
    """Who is calling, under which association, with which negotiated PDU size."""

    peer: str = ""
    association_id: str = ""
    max_pdu_size: int = 65_000


@dataclass
class ModelHandlers:
    """The confirmed services of one server, over ``model``."""

    model: ServedModel
    call: CallContext = field(default_factory=CallContext)
    aa_lists: dict[tuple[str, str], dict[str, NamedList]] = field(default_factory=dict)

    # ------------------------------------------------------------ directory

    def get_name_list(self, peer: str, request: GetNameListRequest) -> GetNameListResponse:
        object_class = request.object_class.basic_object_class
        scope = request.object_scope
        variables_of: str | None = None  # the domain whose named variables are listed
        if object_class == OBJECT_CLASS_DOMAIN and scope.vmd_specific is not None:
            names = self.model.domains
        elif object_class == OBJECT_CLASS_NAMED_VARIABLE and scope.domain_specific is not None:
            names = self._domain_names(scope.domain_specific)
            variables_of = scope.domain_specific
        elif object_class == OBJECT_CLASS_NAMED_VARIABLE_LIST and scope.domain_specific is not None:
            self._domain_names(scope.domain_specific)
            names = [item for (dom, item) in self.model.lists if dom == scope.domain_specific]
        elif object_class == OBJECT_CLASS_NAMED_VARIABLE_LIST and scope.aa_specific is not None:
            names = list(self._aa_lists())
        elif object_class == OBJECT_CLASS_NAMED_VARIABLE and scope.vmd_specific is not None:
            names = []
        else:
            raise ServiceFailure(
                mapping.ACCESS_OBJECT_NON_EXISTENT, f"object class {object_class} in this scope"
            )
        start = 0
        after = request.continue_after
        if after is not None:
            if variables_of is not None:  # up to ~10^5 names: a look-up, not a scan per page
                known = self.model.variables.get((variables_of, after))
                start = known.position + 1 if known else 0
            elif after in names:
                start = names.index(after) + 1
            if start == 0:
                raise ServiceFailure(
                    mapping.SERVICE_CONTINUATION_INVALID,
                    f"continueAfter {after[:80]!r} is not a name here",
                )
        budget = max(self.call.max_pdu_size - PAGE_RESERVE, 200)
        page: list[str] = []
        for name in names[start:]:
            cost = len(name.encode()) + NAME_OVERHEAD
            if cost > budget and page:
                break
            budget -= cost
            page.append(name)
        more = start + len(page) < len(names)
        return GetNameListResponse(
            list_of_identifier=ListOfIdentifier(identifier=page), more_follows=boolean(more)
        )

    def _domain_names(self, domain: str) -> list[str]:
        names = self.model.names.get(domain)
        if names is None:
            raise ServiceFailure(mapping.ACCESS_OBJECT_NON_EXISTENT, f"no domain {domain[:80]!r}")
        return names

    # ------------------------------------------------------------ read and write

    def read(self, peer: str, request: ReadRequest) -> ReadResponse:
        spec = request.variable_access_specification
        results = [self._read_one(target) for target in self._targets(spec)]
        echo = spec if is_true(request.specification_with_result) else None
        return ReadResponse(
            variable_access_specification=echo,
            list_of_access_result=ListOfAccessResult(access_result=results),
        )

    def _read_one(self, target: tuple[str, str, int | None] | DataAccessError) -> AccessResult:
        if isinstance(target, DataAccessError):
            return AccessResult(failure=int(target))
        domain, item, index = target
        try:
            return AccessResult(success=self.model.read(domain, item, index))
        except AccessFailure as failure:
            return AccessResult(failure=int(failure.code))

    def write(self, peer: str, request: WriteRequest) -> WriteResponse:
        targets = self._targets(request.variable_access_specification)
        values = request.list_of_data.data
        if len(values) != len(targets):
            raise ServiceFailure(
                mapping.DEFINITION_TYPE_INCONSISTENT,
                f"{len(values)} values for {len(targets)} variables",
            )
        results = []
        for target, data in zip(targets, values, strict=True):
            if isinstance(target, DataAccessError):
                results.append(WriteResult(failure=int(target)))
                continue
            domain, item, index = target
            try:
                self.model.write(domain, item, data, peer, index)
                results.append(WriteResult(success=Null()))
            except AccessFailure as failure:
                results.append(WriteResult(failure=int(failure.code)))
        return WriteResponse(choice=results)

    def _targets(
        self, spec: VariableAccessSpecification
    ) -> list[tuple[str, str, int | None] | DataAccessError]:
        """(domain, item, array index) per variable, or the DataAccessError that stops it."""
        if spec.variable_list_name is not None:
            named = self._find_list(spec.variable_list_name)
            return [(domain, item, None) for domain, item in named.members]
        if spec.list_of_variable is None:
            raise ServiceFailure(mapping.ACCESS_OBJECT_NON_EXISTENT, "no variables named")
        out: list[tuple[str, str, int | None] | DataAccessError] = []
        for definition in spec.list_of_variable.sequence:
            name = definition.variable_specification.name
            domain_name = name.domain_specific if name is not None else None
            if domain_name is None:
                out.append(DataAccessError.OBJECT_NON_EXISTENT)
                continue
            if max(len(domain_name.domain_id), len(domain_name.item_id)) > MAX_NAME_LENGTH:
                out.append(DataAccessError.OBJECT_NON_EXISTENT)
                continue
            index = _index_of(definition.alternate_access)
            if isinstance(index, DataAccessError):
                out.append(index)
                continue
            out.append((domain_name.domain_id, domain_name.item_id, index))
        return out

    # ------------------------------------------------------------ type descriptions

    def get_variable_access_attributes(
        self, peer: str, request: GetVariableAccessAttributesRequest
    ) -> GetVariableAccessAttributesResponse:
        name = request.name.domain_specific if request.name is not None else None
        if name is None:
            raise ServiceFailure(mapping.ACCESS_OBJECT_NON_EXISTENT, "only domain-specific names")
        try:
            description = self.model.type_description(name.domain_id, name.item_id)
        except AccessFailure:
            raise ServiceFailure(
                mapping.ACCESS_OBJECT_NON_EXISTENT,
                f"no variable {name.domain_id[:80]}/{name.item_id[:80]}",
            ) from None
        return GetVariableAccessAttributesResponse(
            mms_deletable=boolean(False), type_description=description
        )

    # ------------------------------------------------------------ data sets

    def define_named_variable_list(
        self, peer: str, request: DefineNamedVariableListRequest
    ) -> Null:
        name = request.variable_list_name
        members: list[tuple[str, str]] = []
        if len(request.list_of_variable.sequence) > MAX_DATA_SET_MEMBERS:
            raise ServiceFailure(
                mapping.RESOURCE_CAPABILITY_UNAVAILABLE, f"more than {MAX_DATA_SET_MEMBERS} members"
            )
        if not request.list_of_variable.sequence:
            raise ServiceFailure(mapping.DEFINITION_OBJECT_UNDEFINED, "a data set needs members")
        for definition in request.list_of_variable.sequence:
            member = definition.variable_specification.name
            dsn = member.domain_specific if member is not None else None
            if dsn is None or (dsn.domain_id, dsn.item_id) not in self.model.variables:
                shown = f"{dsn.domain_id[:80]}/{dsn.item_id[:80]}" if dsn else "a non-domain name"
                raise ServiceFailure(mapping.DEFINITION_OBJECT_UNDEFINED, f"no variable {shown}")
            if self.model.variables[(dsn.domain_id, dsn.item_id)].fc is None:
                raise ServiceFailure(
                    mapping.DEFINITION_OBJECT_UNDEFINED,
                    f"{dsn.item_id}: not functionally constrained",
                )
            members.append((dsn.domain_id, dsn.item_id))
        if name.domain_specific is not None:
            key = (name.domain_specific.domain_id, name.domain_specific.item_id)
            self._domain_names(key[0])
            ln = key[1].split("$", 1)[0]
            if "$" not in key[1] or (key[0], ln) not in self.model.variables:
                raise ServiceFailure(
                    mapping.DEFINITION_OBJECT_UNDEFINED,
                    f"{key[1][:80]}: not LN$name of this domain",
                )
            if key in self.model.lists:
                raise ServiceFailure(mapping.DEFINITION_OBJECT_EXISTS, f"{key[0]}/{key[1]} exists")
            self.model.lists[key] = NamedList(members, True)
        elif name.aa_specific is not None:
            lists = self._aa_lists()
            if name.aa_specific in lists:
                raise ServiceFailure(
                    mapping.DEFINITION_OBJECT_EXISTS, f"@{name.aa_specific} exists"
                )
            lists[name.aa_specific] = NamedList(members, True, self.call.association_id)
        else:
            raise ServiceFailure(mapping.DEFINITION_OBJECT_UNDEFINED, "vmd-specific data sets")
        return Null()

    def get_named_variable_list_attributes(
        self, peer: str, request: ObjectName
    ) -> GetNamedVariableListAttributesResponse:
        named = self._find_list(request)
        return GetNamedVariableListAttributesResponse(
            mms_deletable=boolean(named.deletable),
            list_of_variable=ListOfVariable(
                sequence=[
                    VariableDef(
                        variable_specification=VariableSpecification(
                            name=ObjectName(
                                domain_specific=DomainSpecificName(domain_id=dom, item_id=item)
                            )
                        )
                    )
                    for dom, item in named.members
                ]
            ),
        )

    def delete_named_variable_list(
        self, peer: str, request: DeleteNamedVariableListRequest
    ) -> DeleteNamedVariableListResponse:
        if request.scope_of_delete not in (None, 0):
            raise ServiceFailure(
                mapping.SERVICE_OBJECT_CONSTRAINT_CONFLICT, "only scopeOfDelete specific (0)"
            )
        names = (
            request.list_of_variable_list_name.object_name
            if request.list_of_variable_list_name
            else []
        )
        matched = deleted = 0
        for name in names:
            try:
                named = self._find_list(name)
            except ServiceFailure:
                continue
            matched += 1
            if not named.deletable:
                continue
            if name.domain_specific is not None:
                del self.model.lists[(name.domain_specific.domain_id, name.domain_specific.item_id)]
            elif name.aa_specific is not None:
                del self._aa_lists()[name.aa_specific]
            deleted += 1
        return DeleteNamedVariableListResponse(number_matched=matched, number_deleted=deleted)

    # ------------------------------------------------------------ files

    def file_directory(self, peer: str, request: FileDirectoryRequest) -> FileDirectoryResponse:
        """GetServerDirectory(FILE) without a specification; GetFileAttributeValues with one."""
        names = sorted(self.model.files)
        if request.file_specification is not None:
            wanted = "/".join(request.file_specification.graphic_string)
            if wanted not in self.model.files:
                raise ServiceFailure(mapping.FILE_NON_EXISTENT, f"no file {wanted[:80]!r}")
            names = [wanted]
        start = 0
        if request.continue_after is not None:
            after = "/".join(request.continue_after.graphic_string)
            if after not in names:
                raise ServiceFailure(mapping.SERVICE_CONTINUATION_INVALID, "continueAfter unknown")
            start = names.index(after) + 1
        budget = max(self.call.max_pdu_size - PAGE_RESERVE, 300)
        entries: list[DirectoryEntry] = []
        for name in names[start:]:
            cost = len(name.encode()) + FILE_ENTRY_OVERHEAD
            if cost > budget and entries:
                break
            budget -= cost
            info = self.model.files[name]
            entries.append(
                DirectoryEntry(
                    file_name=FileName(graphic_string=[name]),
                    file_attributes=FileAttributes(
                        size_of_file=info.size, last_modified=generalized_time(info.modified)
                    ),
                )
            )
        more = start + len(entries) < len(names)
        return FileDirectoryResponse(
            list_of_directory_entry=ListOfDirectoryEntry(directory_entry=entries),
            more_follows=boolean(more),
        )

    def _find_list(self, name: ObjectName) -> NamedList:
        found: NamedList | None = None
        if name.domain_specific is not None:
            found = self.model.lists.get(
                (name.domain_specific.domain_id, name.domain_specific.item_id)
            )
        elif name.aa_specific is not None:
            found = self._aa_lists().get(name.aa_specific)
        if found is None:
            raise ServiceFailure(mapping.ACCESS_OBJECT_NON_EXISTENT, "no such data set")
        return found

    def _aa_lists(self) -> dict[str, NamedList]:
        return self.aa_lists.setdefault((self.call.peer, self.call.association_id), {})

    def association_closed(self, peer: str, association_id: str) -> None:
        """Non-persistent (aa-specific) data sets end with their association."""
        self.aa_lists.pop((peer, association_id), None)


def _index_of(access: AlternateAccess | None) -> int | DataAccessError | None:
    """The array index an alternateAccess selects; only one plain ``index`` is supported."""
    if access is None:
        return None
    if len(access.choice) != 1 or access.choice[0].unnamed is None:
        return DataAccessError.OBJECT_ACCESS_UNSUPPORTED
    select = access.choice[0].unnamed.select_access
    if select is None or select.index is None:
        return DataAccessError.OBJECT_ACCESS_UNSUPPORTED
    return select.index


__all__ = ["CallContext", "ModelHandlers", "ServiceFailure"]
