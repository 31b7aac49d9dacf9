class ReferenceConverter:
    """A ticket reference as people read it: PD-000123."""

    regex = r"PD-[0-9]{6,}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
