"""The workload model: operation catalog, generators, mixes, datasets, the live dataset view."""
