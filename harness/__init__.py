"""The development harness shared by the test suite and the benchmarks: the system as
restartable child processes on free ports (`processes`) and small data factories (`factories`).
Not part of the deployed application."""
