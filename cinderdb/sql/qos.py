"""QoS specs: one root row (key ``QoS_Specs_Name``, value = the name) plus one child row per key.

Liberty's layout is kept (brief §5.6): the root's ``specs_id`` is NULL and each
child points at it. Reads join the children onto the root in one SELECT (a
self-join, as Liberty's ``joinedload_all('specs')``). The dict a spec reads as is
built by ``qos_record``, which ``types.py`` reuses for ``volume_type_qos_specs_get``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import false, literal_column
from sqlalchemy.orm import Session, joinedload

from cinderdb import exception
from cinderdb.base import new_id
from cinderdb.context import RequestContext
from cinderdb.records import Field, Kind, Record, coerce_metadata, coerce_value, utcnow
from cinderdb.sql.core import SQLCore
from cinderdb.sql.models import QualityOfServiceSpecs as Qos

#: The reserved key of a root row; its value is the spec's name.
ROOT_KEY = "QoS_Specs_Name"
_NAME = Field("name", Kind.STRING, 255, nullable=False)


def qos_record(root: Any, children: Iterable[Any]) -> Record:
    """``{'id', 'name', 'consumer', 'specs'}`` of a root row and its child rows.

    Deleted children are skipped, as Liberty's builder does. Liberty raises
    ``KeyError`` for a spec without a ``consumer`` child (quirk §14.10); here
    ``consumer`` is then None, and a spec always has all four keys.
    """
    specs = {child.key: child.value for child in children if not child.deleted}
    consumer = specs.pop("consumer", None)
    return {"id": root.id, "name": root.value, "consumer": consumer, "specs": specs}


def _checked_specs(specs: Any) -> dict[str, str]:
    """Spec pairs checked as the key/value columns would; the root's key is reserved."""
    checked = coerce_metadata(specs)
    if ROOT_KEY in checked:
        raise exception.InvalidInput(reason=f"{ROOT_KEY} is reserved for the spec's name")
    return checked


def _read_deleted(inactive: bool) -> str:
    return "yes" if inactive else "no"


class QosFunctions(SQLCore):
    """QoS specs: create, read, update and delete; associations delegate to ``types.py``."""

    # ------------------------------------------------------------- queries

    def _roots(self, context: RequestContext, inactive: bool = False) -> sa.Select:
        """Root rows with their children joined (one self-joined SELECT)."""
        return (
            self.model_query(context, Qos, read_deleted=_read_deleted(inactive))
            .where(Qos.specs_id.is_(None), Qos.key == ROOT_KEY)
            .options(joinedload(Qos.specs))
        )

    def _root(
        self, session: Session, context: RequestContext, qos_specs_id: str, inactive: bool = False
    ) -> Qos:
        """The root row of a spec, or ``QoSSpecsNotFound``; a child's id is not a spec
        (Liberty raises ``IndexError`` for it, quirk §14.10)."""
        statement = self._roots(context, inactive).where(Qos.id == qos_specs_id)
        root = session.scalars(statement).unique().first()
        if root is None:
            raise exception.QoSSpecsNotFound(specs_id=qos_specs_id)
        return root

    @staticmethod
    def _live_child(session: Session, qos_specs_id: str, key: str) -> Qos | None:
        statement = sa.select(Qos).where(
            Qos.specs_id == qos_specs_id, Qos.key == key, Qos.deleted == false()
        )
        return session.scalars(statement.limit(1)).first()

    # ----------------------------------------------------------------- API

    def qos_specs_create(self, context: RequestContext, values: Mapping[str, Any]) -> Record:
        if not isinstance(values, Mapping):
            raise exception.InvalidInput(reason="values must be a dict")
        name = coerce_value(_NAME, values.get("name"))
        specs = _checked_specs(values.get("qos_specs") or {})
        now = utcnow()
        with self.session() as session:
            existing = (
                session.scalars(self._roots(context).where(Qos.value == name)).unique().first()
            )
            if existing is not None:
                raise exception.QoSSpecsExists(specs_id=name)
            root_id = new_id()
            session.add(Qos(id=root_id, key=ROOT_KEY, value=name, created_at=now, deleted=False))
            session.flush()  # the children's specs_id points at the root
            session.add_all(
                Qos(
                    id=new_id(),
                    specs_id=root_id,
                    key=key,
                    value=value,
                    created_at=now,
                    deleted=False,
                )
                for key, value in specs.items()
            )
        return {"id": root_id, "name": name}

    def qos_specs_get(
        self, context: RequestContext, qos_specs_id: str, inactive: bool = False
    ) -> Record:
        with self.session() as session:
            root = self._root(session, context, qos_specs_id, inactive)
            return qos_record(root, root.specs)

    def qos_specs_get_all(
        self,
        context: RequestContext,
        inactive: bool = False,
        filters: Mapping[str, Any] | None = None,
    ) -> list[Record]:
        # Liberty ignores ``filters``; so does this.
        statement = self._roots(context, inactive).order_by(Qos.value, Qos.id)
        with self.session() as session:
            return [qos_record(root, root.specs) for root in session.scalars(statement).unique()]

    def qos_specs_get_by_name(
        self, context: RequestContext, name: str, inactive: bool = False
    ) -> Record:
        # With ``inactive`` a live spec and deleted ones may share the name: the
        # live one wins, then the newest (Liberty takes whichever comes first).
        statement = (
            self._roots(context, inactive)
            .where(Qos.value == name)
            .order_by(Qos.deleted, Qos.created_at.desc(), Qos.id)
        )
        with self.session() as session:
            root = session.scalars(statement).unique().first()
            if root is None:
                raise exception.QoSSpecsNotFound(specs_id=name)
            return qos_record(root, root.specs)

    def qos_specs_associations_get(
        self, context: RequestContext, qos_specs_id: str
    ) -> list[Record]:
        with self.session() as session:
            self._root(session, context, qos_specs_id)
        return self.volume_type_qos_associations_get(context, qos_specs_id)

    def qos_specs_associate(self, context: RequestContext, qos_specs_id: str, type_id: str) -> None:
        self.volume_type_qos_associate(context, type_id, qos_specs_id)

    def qos_specs_disassociate(
        self, context: RequestContext, qos_specs_id: str, type_id: str
    ) -> None:
        self.volume_type_qos_disassociate(context, qos_specs_id, type_id)

    def qos_specs_disassociate_all(self, context: RequestContext, qos_specs_id: str) -> None:
        self.volume_type_qos_disassociate_all(context, qos_specs_id)

    def qos_specs_item_delete(self, context: RequestContext, qos_specs_id: str, key: str) -> None:
        with self.session() as session:
            if self._live_child(session, qos_specs_id, key) is None:
                raise exception.QoSSpecsKeyNotFound(specs_key=key, specs_id=qos_specs_id)
            session.execute(
                sa.update(Qos)
                .where(Qos.specs_id == qos_specs_id, Qos.key == key, Qos.deleted == false())
                .values(deleted=True, deleted_at=utcnow(), updated_at=literal_column("updated_at"))
            )

    def qos_specs_delete(self, context: RequestContext, qos_specs_id: str) -> None:
        # No association check: Liberty's service layer does that (QoSSpecsInUse).
        with self.session() as session:
            self._root(session, context, qos_specs_id)
            session.execute(
                sa.update(Qos)
                .where(
                    sa.or_(Qos.id == qos_specs_id, Qos.specs_id == qos_specs_id),
                    Qos.deleted == false(),
                )
                .values(deleted=True, deleted_at=utcnow(), updated_at=literal_column("updated_at"))
            )

    def qos_specs_update(
        self, context: RequestContext, qos_specs_id: str, specs: Mapping[str, str]
    ) -> Mapping[str, str]:
        checked = _checked_specs(specs)
        now = utcnow()
        with self.session() as session:
            self._root(session, context, qos_specs_id)
            for key, value in checked.items():
                child = self._live_child(session, qos_specs_id, key)
                if child is None:
                    session.add(
                        Qos(
                            id=new_id(),
                            specs_id=qos_specs_id,
                            key=key,
                            value=value,
                            created_at=now,
                            deleted=False,
                        )
                    )
                elif child.value != value:
                    child.value = value
                    child.updated_at = now
        return checked
