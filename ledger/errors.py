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
