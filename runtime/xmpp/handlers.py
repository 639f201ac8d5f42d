"""Server side of the ACSI services over a ``ServedModel`` (sans-I/O): one method per MMS service.

Implements the generated ``ServiceHandlers`` protocol over a ``CallContext`` passed with each
request (caller, association, negotiated PDU size, time, effects). Whole-request failures
raise ``ServiceFailure`` (answered with a confirmed-ErrorPDU); per-variable failures become
DataAccessError members of the answer. Directory answers are paged to fit the negotiated
maximum PDU size (``moreFollows`` and ``continueAfter``).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Protocol

from gen61850.generated.scsm_8_2.bindings import (
    AccessResult,
    AlternateAccess,
    AlternateAccessItem,
    AlternateAccessSelection,
    DefineNamedVariableListRequest,
    DeleteNamedVariableListRequest,
    DeleteNamedVariableListResponse,
    DirectoryEntry,
    DomainSpecificName,
    FileAttributes,
    FileDirectoryRequest,
    FileDirectoryResponse,
    FileName,
    FileOpenRequest,
    FileOpenResponse,
    FileReadResponse,
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
    ObtainFileRequest,
    ReadJournalRequest,
    ReadJournalResponse,
    ReadRequest,
    ReadResponse,
    SelectAccess,
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
from gen61850.runtime.xmpp.model import (
    AccessFailure,
    DataSetRefused,
    Member,
    NamedList,
    ServedModel,
)
from gen61850.runtime.xmpp.scope import CallContext
from gen61850.runtime.xmpp.values import boolean, is_true

OBJECT_CLASS_NAMED_VARIABLE = 0
OBJECT_CLASS_NAMED_VARIABLE_LIST = 2
OBJECT_CLASS_DOMAIN = 9
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


class FileServices(Protocol):
    """The file services a server offers when it has a file store (``runtime.xmpp.files``)."""

    def file_directory(
        self, call: CallContext, request: FileDirectoryRequest
    ) -> FileDirectoryResponse: ...

    def file_open(self, call: CallContext, request: FileOpenRequest) -> FileOpenResponse: ...

    def file_read(self, call: CallContext, request: int) -> FileReadResponse: ...

    def file_close(self, call: CallContext, request: int) -> Null: ...

    def file_delete(self, call: CallContext, request: FileName) -> Null: ...

    def obtain_file(self, call: CallContext, request: ObtainFileRequest) -> Null: ...


class Journals(Protocol):
    """What answers readJournal (QueryLogByTime, QueryLogAfter): ``logs.engine.LogEngine``."""

    def read_journal(
        self, call: CallContext, request: ReadJournalRequest
    ) -> ReadJournalResponse: ...


@dataclass
class ModelHandlers:
    """The confirmed services of one server, over ``model`` (and ``files`` when it has a
    file store: GetFile, SetFile, DeleteFile and the file directory go there; its logs,
    ``journals``)."""

    model: ServedModel
    files: FileServices | None = None
    journals: Journals | None = None

    # ------------------------------------------------------------ logs

    def read_journal(self, call: CallContext, request: ReadJournalRequest) -> ReadJournalResponse:
        if self.journals is None:
            raise ServiceFailure(mapping.ACCESS_OBJECT_NON_EXISTENT, "this server keeps no log")
        return self.journals.read_journal(call, request)

    # ------------------------------------------------------------ directory

    def get_name_list(self, call: CallContext, request: GetNameListRequest) -> GetNameListResponse:
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
            names = self.model.data_set_names(scope.domain_specific, call.owner)
        elif object_class == OBJECT_CLASS_NAMED_VARIABLE_LIST and scope.aa_specific is not None:
            names = self.model.data_set_names(None, call.owner)
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
        budget = max(call.max_pdu_size - PAGE_RESERVE, 200)
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

    def read(self, call: CallContext, request: ReadRequest) -> ReadResponse:
        spec = request.variable_access_specification
        results = [self._read_one(target, call) for target in self._targets(call, spec)]
        echo = spec if is_true(request.specification_with_result) else None
        return ReadResponse(
            variable_access_specification=echo,
            list_of_access_result=ListOfAccessResult(access_result=results),
        )

    def _read_one(self, target: Member | DataAccessError, call: CallContext) -> AccessResult:
        if isinstance(target, DataAccessError):
            return AccessResult(failure=int(target))
        try:
            return AccessResult(success=self.model.read_member(target, call))
        except AccessFailure as failure:
            return AccessResult(failure=int(failure.code))

    def write(self, call: CallContext, request: WriteRequest) -> WriteResponse:
        targets = self._targets(call, request.variable_access_specification)
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
            try:
                self.model.write_member(target, data, call)
                results.append(WriteResult(success=Null()))
            except AccessFailure as failure:
                results.append(WriteResult(failure=int(failure.code)))
        return WriteResponse(choice=results)

    def _targets(
        self, call: CallContext, spec: VariableAccessSpecification
    ) -> list[Member | DataAccessError]:
        """The variable (or array element) per member, or the DataAccessError that stops it."""
        if spec.variable_list_name is not None:
            return list(self._find_list(call, spec.variable_list_name).members)
        if spec.list_of_variable is None:
            raise ServiceFailure(mapping.ACCESS_OBJECT_NON_EXISTENT, "no variables named")
        out: list[Member | DataAccessError] = []
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
            out.append(Member(domain_name.domain_id, domain_name.item_id, index))
        return out

    # ------------------------------------------------------------ type descriptions

    def get_variable_access_attributes(
        self, call: CallContext, request: GetVariableAccessAttributesRequest
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
        self, call: CallContext, request: DefineNamedVariableListRequest
    ) -> Null:
        """CreateDataSet: the store checks names, members and limits (``create_data_set``)."""
        name = request.variable_list_name
        definitions = request.list_of_variable.sequence
        if len(definitions) > self.model.limits.members:
            raise ServiceFailure(
                mapping.RESOURCE_CAPABILITY_UNAVAILABLE,
                f"more than {self.model.limits.members} members",
            )
        try:
            members = [self._new_member(definition) for definition in definitions]
            if name.domain_specific is not None:
                dsn = name.domain_specific
                self.model.create_data_set(dsn.domain_id, dsn.item_id, members, call.owner)
            elif name.aa_specific is not None:
                self.model.create_data_set(None, name.aa_specific, members, call.owner)
            else:
                raise ServiceFailure(mapping.DEFINITION_OBJECT_UNDEFINED, "vmd-specific data sets")
        except DataSetRefused as refused:
            raise ServiceFailure(refused.error, refused.description) from None
        return Null()

    def _new_member(self, definition: VariableDef) -> Member:
        name = definition.variable_specification.name
        dsn = name.domain_specific if name is not None else None
        if dsn is None:
            raise ServiceFailure(mapping.DEFINITION_OBJECT_UNDEFINED, "a non-domain name")
        index = _index_of(definition.alternate_access)
        if isinstance(index, DataAccessError):
            raise ServiceFailure(mapping.DEFINITION_OBJECT_UNDEFINED, "only an index selection")
        return self.model.member(dsn.domain_id, dsn.item_id, index)

    def get_named_variable_list_attributes(
        self, call: CallContext, request: ObjectName
    ) -> GetNamedVariableListAttributesResponse:
        named = self._find_list(call, request)
        return GetNamedVariableListAttributesResponse(
            mms_deletable=boolean(named.deletable),
            list_of_variable=ListOfVariable(
                sequence=[
                    VariableDef(
                        variable_specification=VariableSpecification(
                            name=ObjectName(
                                domain_specific=DomainSpecificName(
                                    domain_id=member.domain, item_id=member.item
                                )
                            )
                        ),
                        alternate_access=index_access(member.index),
                    )
                    for member in named.members
                ]
            ),
        )

    def delete_named_variable_list(
        self, call: CallContext, request: DeleteNamedVariableListRequest
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
            dsn = name.domain_specific
            if dsn is not None:
                outcome = self.model.delete_data_set(dsn.domain_id, dsn.item_id, call.owner)
            elif name.aa_specific is not None:
                outcome = self.model.delete_data_set(None, name.aa_specific, call.owner)
            else:
                outcome = None
            matched += outcome is not None
            deleted += outcome is True
        return DeleteNamedVariableListResponse(number_matched=matched, number_deleted=deleted)

    # ------------------------------------------------------------ files

    def _files(self) -> FileServices:
        if self.files is None:
            raise ServiceFailure(mapping.FILE_ACCESS_DENIED, "this server has no file store")
        return self.files

    def file_open(self, call: CallContext, request: FileOpenRequest) -> FileOpenResponse:
        return self._files().file_open(call, request)

    def file_read(self, call: CallContext, request: int) -> FileReadResponse:
        return self._files().file_read(call, request)

    def file_close(self, call: CallContext, request: int) -> Null:
        return self._files().file_close(call, request)

    def file_delete(self, call: CallContext, request: FileName) -> Null:
        return self._files().file_delete(call, request)

    def obtain_file(self, call: CallContext, request: ObtainFileRequest) -> Null:
        return self._files().obtain_file(call, request)

    def file_directory(
        self, call: CallContext, request: FileDirectoryRequest
    ) -> FileDirectoryResponse:
        """GetServerDirectory(FILE) without a specification; GetFileAttributeValues with one.
        With a file store, the store's files; without, those listed with ``add_file``."""
        if self.files is not None:
            return self.files.file_directory(call, request)
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
        budget = max(call.max_pdu_size - PAGE_RESERVE, 300)
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

    def _find_list(self, call: CallContext, name: ObjectName) -> NamedList:
        found: NamedList | None = None
        if name.domain_specific is not None:
            dsn = name.domain_specific
            found = self.model.data_set(dsn.domain_id, dsn.item_id, call.owner)
        elif name.aa_specific is not None:
            found = self.model.data_set(None, name.aa_specific, call.owner)
        if found is None:
            raise ServiceFailure(mapping.ACCESS_OBJECT_NON_EXISTENT, "no such data set")
        return found


def index_access(index: int | None) -> AlternateAccess | None:
    """The alternateAccess that selects array element ``index`` (None for the whole)."""
    if index is None:
        return None
    return AlternateAccess(
        choice=[
            AlternateAccessItem(
                unnamed=AlternateAccessSelection(select_access=SelectAccess(index=index))
            )
        ]
    )


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


__all__ = ["CallContext", "FileServices", "ModelHandlers", "ServiceFailure", "index_access"]
