"""Driving a run: the step runner, execution of a run, stores to run against, CPU placement."""
