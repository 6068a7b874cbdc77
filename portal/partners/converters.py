"""Path converters for the portal's URLs."""

# The largest value of a BigAutoField (and of every integer primary key): a signed 64-bit integer.
MAX_ID = 2**63 - 1


class IdConverter:
    """A row id in a URL: digits that fit a 64-bit primary key.

    Django's ``int`` converter turns any run of digits into a Python int, and a lookup with one
    beyond 64 bits does not merely find nothing: the database driver refuses to bind it
    (``OverflowError``), a 500. An id out of range names no row, so it does not match the URL: a 404.
    """

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(f"{value} is beyond any id")  # Django answers a ValueError here with a 404
        return number

    def to_url(self, value) -> str:
        return str(value)
