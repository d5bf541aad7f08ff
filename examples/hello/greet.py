"""A small module for the README's first command: compile it, then inspect the .pyc."""

from dataclasses import dataclass


@dataclass
class Greeting:
    name: str
    punctuation: str = "!"

    def render(self) -> str:
        return f"hello, {self.name}{self.punctuation}"


def main() -> None:
    for name in ("bazel", "python"):
        print(Greeting(name).render())


if __name__ == "__main__":
    main()
