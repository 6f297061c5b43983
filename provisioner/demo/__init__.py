"""Demo material for tests, samples and benchmarks; never imported by production modules."""
