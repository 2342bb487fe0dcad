"""A realistic blend: every Cinder operation, weighted as a production cloud sees them.

Models a general-purpose OpenStack cloud (mix ``standard``, the one
``cinderbench compare`` runs): reads dominate (shows and lists from Horizon
and Nova), attach/detach churn, a steady create/delete/snapshot lifecycle,
metadata updates, and rare admin commands (volume types, QoS specs, quotas,
consistency groups). Use it to compare the designs on one realistic load.

    locust -f workloads/mixed.py --headless -u 20 -r 10 -t 30s
"""

from workloads.common import CinderUser


class Mixed(CinderUser):
    """Every catalog operation at its production weight."""

    mix = "standard"
