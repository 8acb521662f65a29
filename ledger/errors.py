"""Domain errors. Each message is Chinese, short, and says what to do instead."""


class DomainError(Exception):
    """Base of every error a user may see; str() is the reply text."""


class InvalidInput(DomainError):
    """What was typed cannot be used."""


class InvalidTransition(DomainError):
    """The matter is not in a state that allows this."""


class PermissionDenied(DomainError):
    """The actor may not do this."""


class NotFound(DomainError):
    """No such matter, person or unit (or not visible to the actor)."""


class Conflict(DomainError):
    """Someone else changed the same thing at the same moment; try again."""


def shown(text: str, limit: int = 20) -> str:
    """What a person typed, as quoted back in an error: short (they can see the rest)."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


NAME_MAX = 50  # a unit's, person's or enterprise's name: longer is a slip, not a name


def check_name(text: str, what: str) -> str:
    """A name as typed, trimmed; too long is refused with the limit."""
    name = text.strip()
    if len(name) > NAME_MAX:
        raise InvalidInput(f"{what}太长（{len(name)}字）：最多{NAME_MAX}字。")
    return name
