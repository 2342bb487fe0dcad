"""What the MagnetoDB backend can do (``cinderdb.base.Features``)."""

from cinderdb.base import Features

FEATURES = Features(
    transactions=False,
    select_for_update=False,
    secondary_indexes=False,
    atomic_multi_item_write=False,
    server_side_filter=False,
    multi_process=True,
)
