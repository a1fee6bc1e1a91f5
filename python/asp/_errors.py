"""The exceptions and warnings of Asp.

They are defined here, in Python, so that user code and domain modules can
raise, catch and subclass them like any other; the extension module
``asp._core`` raises these same classes.
"""
from __future__ import annotations

__all__ = ["UnsupportedError", "CompileError", "ConfigError", "SpecializationError", "FallbackWarning"]


class UnsupportedError(Exception):
    """A specializer cannot handle a construct of the function: run it as Python instead.

    Parameters
    ----------
    reason : str
        What is not supported, written for the user.
    line : int, optional
        The construct's line in the function's source file (0 when unknown).
    column : int, optional
        Its column as the specializer reported it (1-based; 0 when unknown).

    Attributes
    ----------
    reason : str
    line : int
    column : int
    """

    def __init__(self, reason: str, line: int = 0, column: int = 0) -> None:
        super().__init__(reason, line, column)
        self.reason = reason
        self.line = line
        self.column = column

    def __str__(self) -> str:
        if not self.line:
            return self.reason
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


class CompileError(RuntimeError):
    """The generated code did not compile on any backend.

    Parameters
    ----------
    message : str
        A summary naming the compiler and how it failed.
    log : str, optional
        The compiler's output.
    source_path : str, optional
        Where the generated source was saved, to read or compile by hand.

    Attributes
    ----------
    log : str
    source_path : str
    """

    def __init__(self, message: str, log: str = "", source_path: str = "") -> None:
        super().__init__(message)
        self.log = log
        self.source_path = source_path


class ConfigError(ValueError):
    """A configuration setting was asked for that does not exist, or has a value Asp cannot use."""


class SpecializationError(RuntimeError):
    """A kernel could not be specialized while fallback to Python is turned off (``ASP_STRICT=1``)."""


class FallbackWarning(UserWarning):
    """A kernel runs as plain Python: the warning's message names the construct and says why."""
