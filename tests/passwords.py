"""A password hasher for the tests: Django's PBKDF2, with few iterations.

Production hashes with a million iterations, a quarter to half a second of
CPU per password; the tests make personas (alice, bob, operator) by the
thousand. The hashes this one makes are ordinary `pbkdf2_sha256$<n>$...`
strings that carry their iteration count, so a server or worker in a
subprocess, with the production hashers, checks them as it checks any
other (and upgrades them at a login, as it would an old hash).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher


class QuickPBKDF2PasswordHasher(PBKDF2PasswordHasher):
    iterations = 1000


# In place of production's own PBKDF2 hasher: one hasher per algorithm name, so a wrong
# password is checked at this one's cost too (Django hardens the runtime of a failed check
# of an outdated hash up to the iterations of the hasher that algorithm names).
PRODUCTION_PBKDF2 = "django.contrib.auth.hashers.PBKDF2PasswordHasher"
HASHERS = [
    f"{__name__}.QuickPBKDF2PasswordHasher",
    *(name for name in settings.PASSWORD_HASHERS if name != PRODUCTION_PBKDF2),
]
