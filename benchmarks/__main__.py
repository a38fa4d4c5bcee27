"""``python -m benchmarks``: steps per second, per-op overhead, peak memory, import time and
convolutions (LeNet-5), one after another.

Each writes its JSON under benchmarks/results/; ``--quick`` runs each in a few seconds.
"""
import sys

from . import conv, import_time, memory, ops_overhead, train_step


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    quick = ["--quick"] if "--quick" in argv else []
    train_step.main(quick)
    print()
    ops_overhead.main(quick)
    print()
    memory.main(quick)
    print()
    import_time.main(quick)
    print()
    conv.main(quick)


if __name__ == "__main__":
    main()
