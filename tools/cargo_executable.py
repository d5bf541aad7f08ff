"""Prints the path of the executable cargo built for target NAME.

    cargo build --message-format=json-render-diagnostics ... | python3 tools/cargo_executable.py NAME

Reads cargo's JSON messages on stdin (diagnostics are rendered to stderr by cargo itself)
and prints the `executable` of every compiler-artifact message whose target is NAME: the
one way tools/dist.sh and benches/run.sh learn where a profile's binary landed.
"""

import json
import sys


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    name = sys.argv[1]
    for line in sys.stdin:
        message = json.loads(line)
        if (
            message.get("reason") == "compiler-artifact"
            and message["target"]["name"] == name
            and message.get("executable")
        ):
            print(message["executable"])


if __name__ == "__main__":
    main()
