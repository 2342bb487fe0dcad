"""Nova-driven attach churn: instances boot and stop, so volumes attach and detach all day.

Models a compute-heavy cloud where Cinder's busiest path is Nova's: ``nova
volume-attach`` / ``volume-detach`` cycles (reserve, initialize connection,
attach, and back), multiattach volumes collecting several attachments, the
``cinder show`` and ``list`` calls Nova and users issue around them, and a
trickle of creates and deletes (mix ``attach_heavy``). A fifth of the volumes
are multiattach so shared-volume attachments are common, not a corner case.

    locust -f workloads/attach_heavy.py --headless -u 20 -r 10 -t 30s
"""

from workloads.common import CinderUser


class AttachHeavy(CinderUser):
    """Attach/detach cycles with the shows and lists around them."""

    mix = "attach_heavy"
    dataset = {"multiattach_fraction": 0.2, "in_use_fraction": 0.3}
