"""Typed errors: one class per cause, each message names the file and the cause."""

from __future__ import annotations

from pathlib import Path


class OsmoseError(Exception):
    """Base of every error this project raises on purpose (the CLI prints it without traceback)."""


class DeckError(OsmoseError):
    """A deck could not be read. `str(err)` is '<file>: <cause>'."""

    cause = "cannot be read"

    def __init__(self, path: str | Path, detail: str | None = None):
        self.path = Path(path)
        self.detail = detail
        message = f"{self.path.name}: {self.cause}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


class EncryptedDeckError(DeckError):
    cause = "the deck is password-protected (encrypted)"


class LegacyFormatError(DeckError):
    cause = (
        "legacy binary PowerPoint (.ppt) needs LibreOffice to convert it; "
        "install it (apt-get install libreoffice-impress) so that `soffice` is on PATH"
    )


class ConversionError(DeckError):
    cause = "LibreOffice could not convert the deck"


class StrictOOXMLError(DeckError):
    cause = (
        "ISO/IEC 29500 Strict OOXML is not readable by python-pptx; "
        "install LibreOffice (`soffice` on PATH) to convert it"
    )


class CorruptDeckError(DeckError):
    cause = "the file is corrupt or truncated"


class NotAPresentationError(DeckError):
    cause = "not a PowerPoint presentation"


class DeckTooLargeError(DeckError):
    cause = "the deck exceeds a configured limit"


class IndexBusyError(OsmoseError):
    """The embedded Qdrant store is held by another process for longer than we wait."""


class DimensionMismatchError(OsmoseError):
    """A model would write vectors into a collection made for another dimension."""


class ConfigError(OsmoseError):
    """A setting (environment variable or resource config) has a value we cannot use."""


class IndexUnavailableError(OsmoseError):
    """A Qdrant server (QDRANT_URL) cannot be reached, or refuses us, after bounded retries.

    The message names the server (never the API key), the cause, and what to check."""


class DocumentNotFoundError(OsmoseError):
    """The partition's file is no longer in the inbox."""


class DocumentChangedError(OsmoseError):
    """The partition's file was replaced after its run read it."""


class UnsafeDocumentPathError(OsmoseError):
    """A key or link that would make us read outside the inbox."""


class SlotBusyError(OsmoseError):
    """No compute slot came free within the wait limit."""


class UsageError(OsmoseError):
    """A command line that asks for something that cannot be done as written (an empty query)."""
