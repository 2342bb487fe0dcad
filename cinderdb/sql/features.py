"""What the SQL backend can do (``cinderdb.base.Features``)."""

from cinderdb.base import Features

FEATURES = Features(
    transactions=True,
    select_for_update=True,
    secondary_indexes=True,
    atomic_multi_item_write=True,
    server_side_filter=True,
    multi_process=True,
)
