"""Secrets at rest: channel tokens are stored encrypted with a key from the environment.

``CHANNEL_TOKEN_KEY`` holds one Fernet key, or several separated by commas to rotate: the
first encrypts, every one decrypts. A database dump alone never reveals a token.
"""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

PREFIX = "fernet:"


@lru_cache(maxsize=4)
def _fernet(keys: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.strip()) for key in keys.split(",") if key.strip()])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "CHANNEL_TOKEN_KEY must be Fernet keys (32 url-safe base64 bytes), comma-separated."
        ) from exc


def secret_encrypt(plain: str) -> str:
    return PREFIX + _fernet(settings.CHANNEL_TOKEN_KEY).encrypt(plain.encode()).decode()


def secret_decrypt(stored: str) -> str:
    """Raises ``ImproperlyConfigured`` when no configured key opens the value."""
    if not stored.startswith(PREFIX):
        raise ImproperlyConfigured("An encrypted column holds a value that was never encrypted.")
    try:
        return _fernet(settings.CHANNEL_TOKEN_KEY).decrypt(stored[len(PREFIX):].encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored channel token cannot be decrypted with CHANNEL_TOKEN_KEY; was the key "
            "changed without keeping the old one after it?"
        ) from exc


class EncryptedTextField(models.TextField):
    """A text column whose value is encrypted in the database and plain in Python.

    Only equality with the empty string can be queried: the ciphertext differs each time.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return ""
        return secret_decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return ""
        return secret_encrypt(value)
