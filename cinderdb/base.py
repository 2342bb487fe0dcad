"""What every backend shares: authorization, id coercion, sort and filter rules.

A backend subclasses ``Backend`` and implements the functions of
``cinderdb.api.CinderDB``. ``Backend.__init_subclass__`` wraps each of them
with the authorization rule the contract declares, and turns integer ids into
text (Liberty stores ``volume_create({'id': 1})`` as ``'1'``), so neither rule
is written twice. Everything here is pure: no storage.
"""

from __future__ import annotations

import abc
import contextlib
import contextvars
import functools
import uuid
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from cinderdb import exception
from cinderdb.api import FUNCTIONS, GENERATES_ID, POLICIES, SIGNATURES, Policy
from cinderdb.arguments import check_id, check_texts
from cinderdb.bulk import BulkData
from cinderdb.context import RequestContext
from cinderdb.records import FIELDS, Record, coerce_value, coerce_values, utcnow

#: Parameters that hold ids; an int given for one of them is turned into text.
ID_PARAMETERS = frozenset(
    {
        "id",
        "volume_id",
        "src_vol_id",
        "dest_vol_id",
        "src_volume_id",
        "snapshot_id",
        "attachment_id",
        "consistencygroup_id",
        "group_id",
        "cgsnapshot_id",
        "type_id",
        "volume_type_id",
        "qos_specs_id",
        "project_id",
        "marker",
    }
)


@dataclass(frozen=True)
class Features:
    """What a backend at one URL can do, known without connecting; the harness and the
    tests ask by name (``@pytest.mark.requires("persistent")``), never by URL scheme."""

    #: May several processes open this URL at once and see one store?
    multi_process: bool = False
    #: Does the store outlive the backend that opened it (not a memory store)?
    persistent: bool = True
    #: Does a call wait on a socket (so a gevent worker runs other users meanwhile)?
    waits_on_network: bool = False
    #: Do names and filters compare text case-insensitively (MySQL's utf8mb4_general_ci,
    #: as Liberty's utf8_general_ci: the type 'gold' is found by 'GOLD')?
    case_insensitive_names: bool = False


@dataclass(frozen=True)
class RoundTrip:
    """One trivial request to the store, for the round-trip floor (``bench.measure.floor``)."""

    name: str
    once: Callable[[], object]
    close: Callable[[], object]


class Backend(abc.ABC):
    """Base class of a DB API backend: the contract's functions plus schema control."""

    #: Which design the backend implements: "sql" (the MySQL schema) or "magnetodb".
    side: ClassVar[str] = "base"
    #: Tables that hold second copies of facts kept elsewhere (dual writes).
    derived_tables: frozenset[str] = frozenset()
    #: What this backend can do, set per URL by ``features_for``.
    features: Features = Features()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for function_name in FUNCTIONS:
            method = getattr(cls, function_name, None)
            if method is not None and not getattr(method, "__cinder_wrapped__", False):
                setattr(cls, function_name, _guarded(function_name, method))

    @property
    def contention_hooks(self) -> list[Callable[[str], None]]:
        """Callables told of each retry after a lost race (``"retry"``) and each give-up
        (``"give_up"``), on the thread of the call (the measurement layer counts them)."""
        hooks = self.__dict__.get("_contention_hooks")
        if hooks is None:
            hooks = self.__dict__["_contention_hooks"] = []
        return hooks

    def note_contention(self, event: str) -> None:
        """Tell the hooks that this call retries after a lost race, or gives up."""
        for hook in self.__dict__.get("_contention_hooks") or ():
            hook(event)

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """The URL this backend was opened with (credentials removed)."""

    @abc.abstractmethod
    def create_schema(self) -> None:
        """Create every table (and seed the default quota class); idempotent."""

    @abc.abstractmethod
    def drop_schema(self) -> None:
        """Drop every table and all data."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections and files."""

    @abc.abstractmethod
    def bulk_load(
        self,
        data: BulkData | Iterable[BulkData],
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Write ``data`` in this backend's own layout, bypassing the API (dataset seeding).

        ``data`` is one ``BulkData`` or a stream of parts, loaded as one (a dataset
        too big to hold: ``bench.workload.datasets.stream_dataset``). ``progress(n)`` is
        called after each chunk with the number of top-level records just written.
        """

    @classmethod
    @abc.abstractmethod
    def features_for(cls, url: str) -> Features:
        """The features of a backend at ``url``, known without connecting."""

    @classmethod
    @abc.abstractmethod
    def default_label(cls, url: str) -> str:
        """The label a run gives a backend at ``url`` when none is given ("mysql", ...)."""

    @classmethod
    @abc.abstractmethod
    def embedded_store(
        cls, directory: str, *, durable: bool = False
    ) -> contextlib.AbstractContextManager[str]:
        """The URL of a store of this design's own under ``directory`` while the block runs:
        the embedded default a command starts when given no URL for the side. ``durable``:
        every commit survives power loss (a ValueError where the store cannot)."""

    @classmethod
    @abc.abstractmethod
    def sibling_store(cls, url: str) -> contextlib.AbstractContextManager[str]:
        """The URL of another empty store on the engine of ``url`` while the block runs
        (an A/A replay's second side)."""

    @abc.abstractmethod
    def ping(self) -> None:
        """One request that needs nothing stored; raises ``DBError`` when no store answers."""

    @abc.abstractmethod
    def round_trip_probe(self) -> RoundTrip:
        """The cheapest request this store answers: the transport's floor per round trip."""

    @abc.abstractmethod
    def durable_commits(self) -> bool | None:
        """Does every commit survive power loss (an fsync per commit)? None: cannot tell."""

    def engine_info(self) -> dict[str, Any]:
        """Engine names and versions, for run metadata and reports."""
        return {"backend": self.side, "url": self.url, "network": self.features.waits_on_network}

    # ------------------------------------------------------------- paged lists
    # The four paged lists differ between backends only in how a page is read
    # (``_volume_page``, ``_snapshot_page``); their argument checks and Liberty's
    # "by project = everything, with the project as a filter" are written here once.

    def volume_get_all(
        self,
        context: RequestContext,
        marker: str | None,
        limit: int | None,
        sort_keys: Sequence[str] | None = None,
        sort_dirs: Sequence[str] | None = None,
        filters: Mapping[str, Any] | None = None,
        offset: int | None = None,
    ) -> list[Record]:
        check_page_arguments(limit, offset)
        return self._volume_page(context, marker, limit, sort_keys, sort_dirs, filters, offset)

    def volume_get_all_by_project(
        self,
        context: RequestContext,
        project_id: str,
        marker: str | None,
        limit: int | None,
        sort_keys: Sequence[str] | None = None,
        sort_dirs: Sequence[str] | None = None,
        filters: Mapping[str, Any] | None = None,
        offset: int | None = None,
    ) -> list[Record]:
        check_page_arguments(limit, offset)
        scoped = project_filters(filters, project_id)
        return self._volume_page(context, marker, limit, sort_keys, sort_dirs, scoped, offset)

    def snapshot_get_all(
        self,
        context: RequestContext,
        filters: Mapping[str, Any] | None = None,
        marker: str | None = None,
        limit: int | None = None,
        sort_keys: Sequence[str] | None = None,
        sort_dirs: Sequence[str] | None = None,
        offset: int | None = None,
    ) -> list[Record]:
        check_page_arguments(limit, offset)
        return self._snapshot_page(context, filters, marker, limit, sort_keys, sort_dirs, offset)

    def snapshot_get_all_by_project(
        self,
        context: RequestContext,
        project_id: str,
        filters: Mapping[str, Any] | None = None,
        marker: str | None = None,
        limit: int | None = None,
        sort_keys: Sequence[str] | None = None,
        sort_dirs: Sequence[str] | None = None,
        offset: int | None = None,
    ) -> list[Record]:
        check_page_arguments(limit, offset)
        scoped = project_filters(filters, project_id)
        return self._snapshot_page(context, scoped, marker, limit, sort_keys, sort_dirs, offset)

    @abc.abstractmethod
    def _volume_page(
        self,
        context: RequestContext,
        marker: str | None,
        limit: int | None,
        sort_keys: Sequence[str] | None,
        sort_dirs: Sequence[str] | None,
        filters: Mapping[str, Any] | None,
        offset: int | None,
    ) -> list[Record]:
        """One page of volumes (``limit`` and ``offset`` already checked)."""

    @abc.abstractmethod
    def _snapshot_page(
        self,
        context: RequestContext,
        filters: Mapping[str, Any] | None,
        marker: str | None,
        limit: int | None,
        sort_keys: Sequence[str] | None,
        sort_dirs: Sequence[str] | None,
        offset: int | None,
    ) -> list[Record]:
        """One page of snapshots (``limit`` and ``offset`` already checked)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_CURRENT_CALL: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "cinderdb_current_call", default=None
)


def current_call() -> str | None:
    """The outermost DB API function running in this thread (or task), if any.

    Fault injection and attribution use it to tell which API call a storage
    request belongs to (a function calling another keeps the outer name).
    """
    return _CURRENT_CALL.get()


def _guarded(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` behind its contract policy, with integer ids turned into text."""
    policy, project_arg, class_arg = POLICIES[name]
    positional = list(SIGNATURES[name].parameters)[2:]  # after self, context
    id_slots = [(i, p) for i, p in enumerate(positional) if p in ID_PARAMETERS]
    values_slot = positional.index("values") if name in GENERATES_ID else None
    project_slot = positional.index(project_arg) if project_arg else None
    class_slot = positional.index(class_arg) if class_arg else None

    def argument(args: tuple[Any, ...], kwargs: dict[str, Any], slot: int, param: str) -> Any:
        return args[slot] if slot < len(args) else kwargs.get(param)

    @functools.wraps(method)
    def guarded(self: Backend, context: RequestContext, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(context, RequestContext):
            raise exception.NotAuthorized(message=f"{name} needs a RequestContext first")
        if policy is Policy.ADMIN and not context.is_admin:
            raise exception.AdminRequired()
        if policy is Policy.CONTEXT and not (context.is_admin or context.is_user_context):
            raise exception.NotAuthorized()
        if id_slots and (
            any(isinstance(a, int) and not isinstance(a, bool) for a in args)
            or any(isinstance(v, int) and not isinstance(v, bool) for v in kwargs.values())
        ):
            args, kwargs = _ids_as_text(args, kwargs, id_slots)
        _check_arguments(positional, id_slots, args, kwargs)
        if project_slot is not None and context.is_user_context:
            project_id = argument(args, kwargs, project_slot, project_arg or "")
            if project_id != context.project_id:
                raise exception.NotAuthorized()
        if class_slot is not None and context.is_user_context:
            class_name = argument(args, kwargs, class_slot, class_arg or "")
            if class_name != context.quota_class:
                raise exception.NotAuthorized()
        if values_slot is not None:
            _generate_id(argument(args, kwargs, values_slot, "values"))
        if _CURRENT_CALL.get() is not None:
            return method(self, context, *args, **kwargs)
        token = _CURRENT_CALL.set(name)
        try:
            return method(self, context, *args, **kwargs)
        finally:
            _CURRENT_CALL.reset(token)

    guarded.__cinder_wrapped__ = True  # type: ignore[attr-defined]
    return guarded


def _check_arguments(
    positional: list[str],
    id_slots: list[tuple[int, str]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """The boundary rules of ``cinderdb.arguments``, before the backend runs."""
    for slot, param in id_slots:
        value = args[slot] if slot < len(args) else kwargs.get(param)
        check_id(param, value)
    for slot, value in enumerate(args):
        check_texts(positional[slot] if slot < len(positional) else "argument", value)
    for param, value in kwargs.items():
        check_texts(param, value)


def _generate_id(values: Any) -> None:
    """Liberty's create functions put a new uuid4 into the caller's ``values`` when it has
    no id, before anything is stored (``GENERATES_ID``)."""
    if isinstance(values, MutableMapping) and not values.get("id"):
        values["id"] = new_id()


def _ids_as_text(
    args: tuple[Any, ...], kwargs: dict[str, Any], id_slots: list[tuple[int, str]]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    new_args = list(args)
    for slot, param in id_slots:
        if slot < len(new_args):
            if isinstance(new_args[slot], int) and not isinstance(new_args[slot], bool):
                new_args[slot] = str(new_args[slot])
        elif isinstance(kwargs.get(param), int) and not isinstance(kwargs.get(param), bool):
            kwargs = {**kwargs, param: str(kwargs[param])}
    return tuple(new_args), kwargs


# ------------------------------------------------------------------ identifiers


def is_uuid_like(value: Any) -> bool:
    """oslo's ``uuidutils.is_uuid_like``: a uuid, with or without dashes, any case."""
    if not isinstance(value, str):
        return False
    try:
        return str(uuid.UUID(value)).replace("-", "") == value.replace("-", "").lower()
    except ValueError:
        return False


def new_id() -> str:
    """A fresh uuid4 id, as Cinder's create functions generate."""
    return str(uuid.uuid4())


# --------------------------------------------------------------------- sorting

SORT_DIRECTIONS = ("asc", "desc")


def process_sort_params(
    sort_keys: Sequence[str] | None,
    sort_dirs: Sequence[str] | None,
    default_keys: Sequence[str] = ("created_at", "id"),
    default_dir: str = "asc",
) -> tuple[list[str], list[str]]:
    """Cinder's ``process_sort_params``: pad directions, append default keys.

    Missing directions take the first given direction (or ``default_dir``); the
    default keys are appended with that same direction. More directions than
    keys, or a direction other than asc/desc, is ``InvalidInput``.
    """
    default_dir_value = sort_dirs[0] if sort_dirs else default_dir
    result_keys = list(sort_keys) if sort_keys else []
    if sort_dirs:
        for sort_dir in sort_dirs:
            if sort_dir not in SORT_DIRECTIONS:
                raise exception.InvalidInput(
                    reason="Unknown sort direction, must be 'desc' or 'asc'"
                )
        result_dirs = list(sort_dirs)
    else:
        result_dirs = [default_dir_value for _ in result_keys]
    while len(result_dirs) < len(result_keys):
        result_dirs.append(default_dir_value)
    if len(result_dirs) > len(result_keys):
        raise exception.InvalidInput(
            reason="Sort direction array size exceeds sort key array size."
        )
    for key in default_keys:
        if key not in result_keys:
            result_keys.append(key)
            result_dirs.append(default_dir_value)
    return result_keys, result_dirs


def check_sort_keys(kind: str, sort_keys: Sequence[str]) -> None:
    """Only columns sort. Liberty gives a raw DB error for a relationship or a
    property key (quirk §14.3); here every non-column key is ``InvalidInput``."""
    columns = {f.name for f in FIELDS[kind]}
    for key in sort_keys:
        if key not in columns:
            raise exception.InvalidInput(reason=f"Invalid sort key {key}")


def check_page_arguments(limit: Any, offset: Any) -> None:
    """``limit`` and ``offset`` must be non-negative integers or None."""
    for label, value in (("limit", limit), ("offset", offset)):
        valid = value is None or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 0
        )
        if not valid:
            raise exception.InvalidInput(reason=f"{label} must be a non-negative integer")


# --------------------------------------------------------------------- filters

NO_MATCH = None  # what a filter planner returns when the call must return []


@dataclass
class FilterPlan:
    """A validated filter dict, in the terms both backends execute.

    ``equal`` maps a column to one value (None meaning IS NULL); ``within`` maps
    a column to the values of an IN; ``metadata`` pairs must each exist as live
    user *or* admin metadata (Liberty's rule, kept); ``no_migration_targets``
    excludes volumes whose migration_status starts with ``target:``.
    """

    equal: dict[str, Any] = field(default_factory=dict)
    within: dict[str, list[Any]] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    no_migration_targets: bool = False


def _coerced_filter_value(kind: str, column: str, value: Any) -> tuple[bool, Any]:
    column_field = next(f for f in FIELDS[kind] if f.name == column)
    if value is None:
        return True, None
    try:
        return True, coerce_value(column_field, value)
    except exception.InvalidInput:
        return False, None


def check_filters(filters: Any) -> None:
    """``filters`` must be a dict or None."""
    if filters is not None and not isinstance(filters, Mapping):
        raise exception.InvalidInput(reason="filters must be a dict")


def project_filters(filters: Mapping[str, Any] | None, project_id: str) -> dict[str, Any]:
    """The filters of a ``*_get_all_by_project`` call: the project overrides any
    ``project_id`` the caller passed, as in Liberty."""
    check_filters(filters)
    return {**(filters or {}), "project_id": project_id}


def quota_class_values(class_name: Any, resource: Any, limit: Any) -> Record:
    """The columns of a new quota-class limit: both keys are required (a class is found
    only by them)."""
    values = coerce_values(
        "quota_class", {"class_name": class_name, "resource": resource, "hard_limit": limit}
    )
    if values.get("class_name") is None or values.get("resource") is None:
        raise exception.InvalidInput(reason="class_name and resource are required")
    return values


def attached_changes(
    instance_uuid: str | None, host_name: str | None, mountpoint: str | None, attach_mode: str
) -> Record:
    """The attachment columns ``volume_attached`` sets; ``InvalidUUID`` first, as Liberty."""
    if instance_uuid and not is_uuid_like(instance_uuid):
        raise exception.InvalidUUID(uuid=instance_uuid)
    now = utcnow()
    return coerce_values(
        "attachment",
        {
            "mountpoint": mountpoint,
            "attach_status": "attached",
            "instance_uuid": instance_uuid,
            "attached_host": host_name,
            "attach_time": now,
            "attach_mode": attach_mode,
            "updated_at": now,
        },
    )


def plan_volume_filters(filters: Mapping[str, Any] | None) -> FilterPlan | None:
    """Liberty's volume filter rules; ``None`` means "the call returns []".

    ``no_migration_targets`` (truthy) becomes a condition, and a falsy one is an
    unknown key, as in Liberty. ``metadata`` must be a dict. Every other key
    must be a volume column; a list, tuple or set value means IN. A value that
    cannot be a value of its column matches nothing.
    """
    check_filters(filters)
    plan = FilterPlan()
    if not filters:
        return plan
    columns = {f.name for f in FIELDS["volume"]}
    for key, value in filters.items():
        if key == "no_migration_targets" and value:
            plan.no_migration_targets = True
        elif key == "metadata":
            if not isinstance(value, Mapping):
                return NO_MATCH
            plan.metadata = {str(k): v for k, v in value.items()}
        elif key not in columns:
            return NO_MATCH
        elif isinstance(value, list | tuple | set | frozenset):
            accepted = []
            for item in value:
                ok, coerced = _coerced_filter_value("volume", key, item)
                if ok:
                    accepted.append(coerced)
            plan.within[key] = accepted
        else:
            ok, coerced = _coerced_filter_value("volume", key, value)
            if not ok:
                return NO_MATCH
            plan.equal[key] = coerced
    return plan


def plan_equality_filters(kind: str, filters: Mapping[str, Any] | None) -> FilterPlan | None:
    """Snapshot and cgsnapshot filters: columns, plain equality, no IN.

    An unknown key gives ``[]`` as in Liberty. A list value, which Liberty
    passes to the database as a raw error (quirk §14.4), is ``InvalidInput``.
    """
    check_filters(filters)
    plan = FilterPlan()
    if not filters:
        return plan
    columns = {f.name for f in FIELDS[kind]}
    for key, value in filters.items():
        if key not in columns:
            return NO_MATCH
        if isinstance(value, list | tuple | set | frozenset | Mapping):
            raise exception.InvalidInput(reason=f"filter {key} takes one value, not a collection")
        ok, coerced = _coerced_filter_value(kind, key, value)
        if not ok:
            return NO_MATCH
        plan.equal[key] = coerced
    return plan


def pool_host_matches(volume_host: str | None, host: str) -> bool:
    """Liberty's host match: ``host == H`` or ``host LIKE 'H#%'`` (a pool of H)."""
    return volume_host is not None and (volume_host == host or volume_host.startswith(host + "#"))
