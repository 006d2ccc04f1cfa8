"""`python -m node_factory bench`: the node kernel measured (size, RAM, instruction counts) with the C++
harnesses in harness/, and the last training run's accuracy, into docs/benchmarks."""
