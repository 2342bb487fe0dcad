"""Backup-style snapshot cycles: snapshots with metadata, and consistency groups.

Models a backup service that snapshots volumes on a schedule, tags each
snapshot with metadata (policy, retention), lists and shows them, rotates old
ones out, and snapshots whole consistency groups (``cgsnapshot``) to create
groups from them (mix ``snapshot_lifecycle``). More volumes sit in groups than
by default, so group operations find targets.

    locust -f workloads/snapshot_lifecycle.py --headless -u 20 -r 10 -t 30s
"""

from workloads.common import CinderUser


class SnapshotLifecycle(CinderUser):
    """Snapshots, their metadata, consistency groups and their snapshots."""

    mix = "snapshot_lifecycle"
    dataset = {"snapshot_fraction": 0.4, "group_volume_fraction": 0.1}
