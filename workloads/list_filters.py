"""Dashboards and CLIs paging through big projects: filtered, sorted, paginated volume lists.

Models Horizon's volume tables and ``cinder list`` scripts: lists filtered by
status, name and metadata (``--metadata tier=gold``), sorted by any of six
keys in either direction, walked page by page with markers, plus the shows a
click opens (mix ``list_filters``). Few projects hold many volumes, each with
several metadata pairs, so filters are selective and pages are full: the
query the SQL schema answers with joins and the MagnetoDB design with its
index tables.

    locust -f workloads/list_filters.py --headless -u 20 -r 10 -t 30s
"""

from workloads.common import CinderUser


class ListFilters(CinderUser):
    """Filtered, sorted and paged lists."""

    mix = "list_filters"
    dataset = {"projects": 8, "metadata_keys": 4}
