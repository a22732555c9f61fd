"""Errors a user can cause and fix. Each has a stable ``code`` for the HTTP API and a message
written for the person who made the mistake; the CLI prints the message as one line."""

from __future__ import annotations


class AvatarLabError(Exception):
    """Base class: a problem with the input or the environment, not a bug."""

    code = "error"
    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InputError(AvatarLabError):
    """Bad text, options or file arguments."""

    code = "bad_input"


class ImageError(AvatarLabError):
    """The portrait cannot be read or is unsuitable (missing, corrupt, too large)."""

    code = "bad_image"


class NoFaceError(ImageError):
    code = "no_face"
    http_status = 422


class AudioError(AvatarLabError):
    code = "bad_audio"


class VoiceError(AvatarLabError):
    """A voice file is missing or not a Piper voice."""

    code = "bad_voice"


class OutputError(AvatarLabError):
    """The result cannot be written (folder missing, not writable, disk full)."""

    code = "cannot_write"
    http_status = 500
