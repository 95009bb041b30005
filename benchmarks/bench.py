"""Run the benchmark suite: python benchmarks/bench.py [--help].
The suite lives in tinynet/bench.py so that `tinynet bench` runs it too."""
import sys

from tinynet.bench import main

if __name__ == "__main__":
    sys.exit(main())
