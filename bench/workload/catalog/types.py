"""Volume types and QoS specs (admin commands; the seed's lists, Liberty's service code).

Types made by ``type_create`` are *scratch* types: ``type_delete`` removes only
those (dataset types carry volumes). QoS specs are known by name in the view,
because ``qos_specs_create`` makes its own id on each backend; each
``Target`` maps names to its ids (``Target.qos_ids``).
"""

from __future__ import annotations

import random
from typing import Any

from bench.workload.catalog.base import InvalidVolumeType, Operation, Plan, Target, new_uuid
from bench.workload.datasets import QOS_SPECS
from bench.workload.view import DatasetView, KeyChooser, QosState, TypeState
from cinderdb import exception


def _admin_plan(op: Operation, view: DatasetView, rng: random.Random, keys: KeyChooser, **args):
    """Admin commands still come from some project's user (elevated)."""
    return op.new_plan(rng, view.choose_project(keys), **args)


class TypeCreate(Operation):
    name = "type_create"
    command = "cinder type-create NAME"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        type_id = new_uuid(rng)
        backends = sorted(t.name for t in view.types.values() if not t.scratch)
        return _admin_plan(
            self,
            view,
            rng,
            keys,
            type_id=type_id,
            type_name=f"bench-type-{type_id[:13]}",
            extra_specs={"volume_backend_name": rng.choice(backends or ["lvmdriver-1"])},
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        admin, args = plan.admin(), plan.args
        values = {
            "id": args["type_id"],
            "name": args["type_name"],
            "description": "made by cinderbench",
            "is_public": True,
            "extra_specs": args["extra_specs"],
        }
        target.api.volume_type_create(admin, values, None)
        target.api.volume_type_get_by_name(admin, args["type_name"])
        return {"type_id": args["type_id"]}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            args = plan.args
            view.types[args["type_id"]] = TypeState(
                args["type_id"], args["type_name"], None, True, scratch=True
            )


class TypeDelete(Operation):
    name = "type_delete"
    command = "cinder type-delete TYPE"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        vtype = view.choose_among(
            rng, view.types.values(), "type", lambda t: t.scratch and t.volumes == 0
        )
        if vtype is None:
            return None
        plan = _admin_plan(self, view, rng, keys, type_id=vtype.id)
        plan.holds.append(f"type:{vtype.id}")
        return plan

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        admin = plan.admin()
        target.api.volume_type_get(admin, plan.args["type_id"])
        target.api.volume_type_destroy(admin, plan.args["type_id"])
        return {}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            vtype = view.types.pop(plan.args["type_id"], None)
            if vtype is not None and vtype.qos in view.qos:
                view.qos[vtype.qos].types.discard(vtype.id)


class TypeKey(Operation):
    name = "type_key"
    command = "cinder type-key TYPE set k=v"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        vtype = view.choose_among(rng, view.types.values(), "type")
        if vtype is None:
            return None
        specs = {f"bench:key-{rng.randrange(5)}": f"value-{rng.randrange(100)}"}
        plan = _admin_plan(self, view, rng, keys, type_id=vtype.id, extra_specs=specs)
        plan.holds.append(f"type:{vtype.id}")
        return plan

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        admin, type_id = plan.admin(), plan.args["type_id"]
        target.api.volume_type_get(admin, type_id)
        target.api.volume_type_extra_specs_update_or_create(
            admin, type_id, plan.args["extra_specs"]
        )
        return {}


class TypeList(Operation):
    name = "type_list"
    command = "cinder type-list"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        return self.new_plan(rng, view.choose_project(keys))

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        types = target.api.volume_type_get_all(plan.user(), False, {"is_public": True})
        return {"count": len(types)}


# ------------------------------------------------------------------- QoS specs


def _qos_key(qos: QosState) -> str:
    return qos.name


def _choose_qos(view: DatasetView, rng: random.Random, accept=lambda q: True, exclusive=True):
    return view.choose_among(rng, view.qos.values(), "qos", accept, exclusive, key=_qos_key)


class QosCreate(Operation):
    name = "qos_create"
    command = "cinder qos-create NAME k=v ..."

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        consumer, specs = rng.choice(QOS_SPECS)
        return _admin_plan(
            self,
            view,
            rng,
            keys,
            qos_name=f"bench-qos-{rng.getrandbits(48):012x}",
            consumer=consumer,
            specs=dict(specs),
        )

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, admin, args = target.api, plan.admin(), plan.args
        name = args["qos_name"]
        created = api.qos_specs_create(
            admin, {"name": name, "qos_specs": {"consumer": args["consumer"]}}
        )
        target.qos_ids[name] = created["id"]
        qos = api.qos_specs_get_by_name(admin, name)
        api.qos_specs_update(admin, qos["id"], args["specs"])
        return {"qos": name}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            view.qos[plan.args["qos_name"]] = QosState(plan.args["qos_name"], scratch=True)


class QosAssociate(Operation):
    name = "qos_associate"
    command = "cinder qos-associate QOS TYPE"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        with view.lock:
            vtype = view.choose_among(rng, view.types.values(), "type", lambda t: t.qos is None)
            if vtype is None:
                return None
            qos = _choose_qos(view, rng, exclusive=False)
            if qos is None:
                view.release([f"type:{vtype.id}"])
                return None
        plan = _admin_plan(self, view, rng, keys, type_id=vtype.id, qos=qos.name)
        plan.holds += [f"type:{vtype.id}", f"qos:{qos.name}"]
        return plan

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, admin, type_id = target.api, plan.admin(), plan.args["type_id"]
        qos_id = target.qos_ids[plan.args["qos"]]
        api.qos_specs_get(admin, qos_id)
        api.qos_specs_get(admin, qos_id)
        current = api.volume_type_qos_specs_get(admin, type_id)["qos_specs"]
        if current is None:
            api.volume_type_qos_associate(admin, type_id, qos_id)
        elif current["id"] != qos_id:
            raise InvalidVolumeType(f"type {type_id} is associated with {current['id']}")
        return {}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            vtype, qos = view.types.get(plan.args["type_id"]), view.qos.get(plan.args["qos"])
            if vtype is not None and qos is not None:
                vtype.qos = qos.name
                qos.types.add(vtype.id)


class QosDisassociate(Operation):
    name = "qos_disassociate"
    command = "cinder qos-disassociate QOS TYPE"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        with view.lock:
            vtype = view.choose_among(rng, view.types.values(), "type", lambda t: t.qos in view.qos)
            if vtype is None:
                return None
            if not view.hold(f"qos:{vtype.qos}", exclusive=False):
                view.release([f"type:{vtype.id}"])
                return None
        plan = _admin_plan(self, view, rng, keys, type_id=vtype.id, qos=vtype.qos)
        plan.holds += [f"type:{vtype.id}", f"qos:{vtype.qos}"]
        return plan

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, admin = target.api, plan.admin()
        qos_id = target.qos_ids[plan.args["qos"]]
        api.qos_specs_get(admin, qos_id)
        api.qos_specs_get(admin, qos_id)
        api.volume_type_qos_disassociate(admin, qos_id, plan.args["type_id"])
        return {}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            vtype = view.types.get(plan.args["type_id"])
            if vtype is not None:
                vtype.qos = None
            if plan.args["qos"] in view.qos:
                view.qos[plan.args["qos"]].types.discard(plan.args["type_id"])


class _OneQos(Operation):
    """A command on one QoS spec: held shared for reads, exclusive for writes."""

    exclusive = True
    scratch_only = False

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        qos = _choose_qos(
            view, rng, lambda q: q.scratch or not self.scratch_only, exclusive=self.exclusive
        )
        if qos is None:
            return None
        plan = _admin_plan(self, view, rng, keys, qos=qos.name, **self.extra(rng, qos))
        plan.holds.append(f"qos:{qos.name}")
        return plan

    def extra(self, rng: random.Random, qos: QosState) -> dict[str, Any]:
        return {}


class QosDisassociateAll(_OneQos):
    name = "qos_disassociate_all"
    command = "cinder qos-disassociate-all QOS"
    scratch_only = True

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, admin = target.api, plan.admin()
        qos_id = target.qos_ids[plan.args["qos"]]
        api.qos_specs_get(admin, qos_id)
        api.qos_specs_get(admin, qos_id)
        api.volume_type_qos_disassociate_all(admin, qos_id)
        return {}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            qos = view.qos.get(plan.args["qos"])
            if qos is not None:
                for type_id in qos.types:
                    if type_id in view.types:
                        view.types[type_id].qos = None
                qos.types.clear()


class QosGetAssociation(_OneQos):
    name = "qos_get_association"
    command = "cinder qos-get-association QOS"
    exclusive = False

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, admin = target.api, plan.admin()
        qos_id = target.qos_ids[plan.args["qos"]]
        api.qos_specs_get(admin, qos_id)
        return {"count": len(api.qos_specs_associations_get(admin, qos_id))}


class QosKey(_OneQos):
    name = "qos_key"
    command = "cinder qos-key QOS set k=v | unset k"

    def extra(self, rng: random.Random, qos: QosState) -> dict[str, Any]:
        if qos.extra_keys and rng.random() < 0.5:
            return {"unset": [rng.choice(sorted(qos.extra_keys))]}
        return {"set": {f"bench_key_{rng.randrange(4)}": str(rng.randrange(1, 10_000))}}

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, admin = target.api, plan.admin()
        qos_id = target.qos_ids[plan.args["qos"]]
        if "set" in plan.args:
            api.qos_specs_update(admin, qos_id, plan.args["set"])
        else:
            api.qos_specs_get(admin, qos_id)
            for key in plan.args["unset"]:
                api.qos_specs_item_delete(admin, qos_id, key)
        return {}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            qos = view.qos.get(plan.args["qos"])
            if qos is not None:
                qos.extra_keys.update(plan.args.get("set", {}))
                qos.extra_keys.difference_update(plan.args.get("unset", ()))


class QosList(Operation):
    name = "qos_list"
    command = "cinder qos-list"

    def plan(self, view: DatasetView, rng: random.Random, keys: KeyChooser) -> Plan | None:
        return _admin_plan(self, view, rng, keys)

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        return {"count": len(target.api.qos_specs_get_all(plan.admin()))}


class QosShow(_OneQos):
    name = "qos_show"
    command = "cinder qos-show QOS"
    exclusive = False

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        target.api.qos_specs_get(plan.admin(), target.qos_ids[plan.args["qos"]])
        return {}


class QosDelete(_OneQos):
    name = "qos_delete"
    command = "cinder qos-delete [--force True] QOS"
    scratch_only = True

    def extra(self, rng: random.Random, qos: QosState) -> dict[str, Any]:
        return {"force": bool(qos.types) or rng.random() < 0.3}

    def execute(self, target: Target, plan: Plan) -> dict[str, Any]:
        api, admin, name = target.api, plan.admin(), plan.args["qos"]
        qos_id = target.qos_ids[name]
        associations = api.qos_specs_associations_get(admin, qos_id)
        if associations and not plan.args["force"]:
            raise exception.QoSSpecsInUse(specs_id=qos_id)
        if associations:
            api.qos_specs_disassociate_all(admin, qos_id)
        api.qos_specs_delete(admin, qos_id)
        target.qos_ids.pop(name, None)
        return {}

    def settle(self, view: DatasetView, plan: Plan, result: dict[str, Any]) -> None:
        with view.lock:
            qos = view.qos.pop(plan.args["qos"], None)
            for type_id in qos.types if qos else ():
                if type_id in view.types:
                    view.types[type_id].qos = None


OPERATIONS: tuple[Operation, ...] = (
    TypeCreate(),
    TypeDelete(),
    TypeKey(),
    TypeList(),
    QosCreate(),
    QosAssociate(),
    QosDisassociate(),
    QosDisassociateAll(),
    QosGetAssociation(),
    QosKey(),
    QosList(),
    QosShow(),
    QosDelete(),
)
