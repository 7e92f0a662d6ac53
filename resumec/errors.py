"""Errors carry their exit code, so the CLI maps any failure to the documented status."""

from __future__ import annotations


class ResumecError(Exception):
    """Base class: a failure we can explain to the user without a traceback."""

    exit_code = 1

    def __init__(self, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        # One line per problem (e.g. every schema violation), shown after the message.
        self.details = list(details or [])

    def lines(self) -> list[str]:
        return self.details or [self.message]


class InputError(ResumecError):
    """The résumé or a theme is invalid (exit 1)."""

    exit_code = 1


class UsageError(ResumecError):
    """Bad command-line usage: unknown option value, section name, … (exit 2)."""

    exit_code = 2


class ConvertError(ResumecError):
    """PDF conversion failed or LibreOffice is missing (exit 3)."""

    exit_code = 3


class LibreOfficeMissing(ConvertError):
    """No LibreOffice to convert with (exit 3); unlike other conversion failures, the DOCX is still written."""


class OutputError(ResumecError):
    """An output could not be written (exit 4)."""

    exit_code = 4
