"""cinderbench's MagnetoDB: a server of the MagnetoDB v1 data API, storage engines, client."""
