"""Many users on few projects creating, extending and deleting volumes against tight quotas.

Models a shared CI or dev tenant: many users of a handful of projects create,
grow and delete volumes and snapshots, each step reserving and committing
quota (``quota_reserve`` / ``reservation_commit``), while admins read and
adjust limits (mix ``quota_churn``). Three projects in four have limits a few
volumes above their usage, so creates regularly meet ``OverQuota`` (one in ten
or so): rejections, the behaviour under test, not failures.

    locust -f workloads/quota_churn.py --headless -u 20 -r 10 -t 30s
"""

from workloads.common import CinderUser


class QuotaChurn(CinderUser):
    """Create/extend/delete under tight quotas, many users per project."""

    mix = "quota_churn"
    dataset = {"projects": 4, "users_per_project": 12, "tight_quota_fraction": 0.75}
