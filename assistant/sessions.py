"""Login sessions that any app server can check: a signed, expiring cookie.

After a login the server sets one cookie holding the user's name and a fingerprint of their
password hash, signed with ``ASSISTANT_SESSION_SECRET`` (itsdangerous, HMAC-SHA1 over the
value and its time). Every server given the same secret accepts it, so behind a round-robin
proxy a login on one server is a login on all of them, and nothing is stored per session. A
cookie is refused when its signature is wrong, when it is older than ``ASSISTANT_SESSION_HOURS``,
when its user is no longer in the auth file, or when the user's password changed since (the
fingerprint no longer matches). Logging out deletes the cookie in the browser; a copy of it taken
before stays valid until it expires, as with any stateless session.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer

from assistant.users import UserStore

log = logging.getLogger(__name__)

COOKIE_NAME = "kyodo_session"
SALT = "kyodo-assistant login"


def password_fingerprint(password_hash: str) -> str:
    """A short digest of the stored hash: a new password ends the sessions of the old one."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class LoginSessions:
    """Issues and checks the session cookie for the users of one auth file."""

    def __init__(self, users: UserStore, secret: str = "", max_age_s: float = 12 * 3600) -> None:
        if not secret:
            # One server on its own: logins last until it restarts. Several servers need the shared setting.
            log.warning("ASSISTANT_SESSION_SECRET is not set: logins are valid on this server only")
            secret = secrets.token_urlsafe(48)
        self.users = users
        self.max_age_s = max_age_s
        self.serializer = URLSafeTimedSerializer(secret, salt=SALT)

    def issue(self, name: str) -> str:
        """The cookie value for ``name``, who has just given the right password."""
        user = self.users.users[name]
        return self.serializer.dumps([user.name, password_fingerprint(user.password_hash)])

    def user_of(self, cookie: str | None) -> str | None:
        """The logged-in user's name, or None for a missing, forged, expired or outdated cookie."""
        if not cookie:
            return None
        try:
            name, fingerprint = self.serializer.loads(cookie, max_age=self.max_age_s)
        except (BadSignature, ValueError, TypeError):  # SignatureExpired is a BadSignature
            return None
        user = self.users.users.get(name) if isinstance(name, str) else None
        if user is None or fingerprint != password_fingerprint(user.password_hash):
            return None
        return user.name
