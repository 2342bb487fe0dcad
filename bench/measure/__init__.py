"""Measurement: instrumentation, recorder, counter probes, round-trip floor, oplog, results."""
