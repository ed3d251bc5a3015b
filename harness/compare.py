"""Placeholder until the compare tool lands (issue 5)."""


def add_arguments(parser):
    parser.add_argument("files", nargs="+")


def main(args) -> int:
    raise NotImplementedError("compare is not implemented yet")
