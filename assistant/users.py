"""Staff logins: a file of ``name:role:argon2-hash`` lines (``ASSISTANT_AUTH_FILE``).

Passwords are never stored, only argon2id hashes; ``assistant user add/list/remove`` manage the
file. Roles: ``admin`` (may see the admin pages) and ``staff``. The file may start with a BOM
(as Notepad writes it) and use CRLF line ends.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assistant.errors import AssistantError

ROLES = ("admin", "staff")
NAME_PATTERN = re.compile(r"[^\s:#][^\s:]{0,63}")
MAX_PASSWORD_CHARS = 1024
MIN_PASSWORD_CHARS = 8

_hasher = PasswordHasher()
# Verifying an unknown name costs the same as a known one, so timing does not tell which names exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class UserFileError(AssistantError):
    ja = "ログイン情報のファイルを読み込めません。"


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str


def hash_password(password: str) -> str:
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise AssistantError(
            f"password of {len(password)} characters",
            ja=f"パスワードは{MIN_PASSWORD_CHARS}文字以上{MAX_PASSWORD_CHARS}文字以内にしてください。",
        )
    return _hasher.hash(password)


def read_users(path: Path) -> dict[str, User]:
    """The users of ``path`` by name; a line that is not ``name:role:hash`` is refused with its number."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except FileNotFoundError:
        raise UserFileError(
            f"no auth file {path}",
            ja=f"ログイン情報のファイル {path} がありません。`assistant user add 名前 --role staff` で作成してください。",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserFileError(
            f"cannot read the auth file {path}: {exc}",
            ja=f"ログイン情報のファイル {path} を読み込めません（UTF-8 で保存してください）。",
        ) from None
    users: dict[str, User] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, role, password_hash = [*line.split(":", 2), "", ""][:3]
        if not NAME_PATTERN.fullmatch(name) or role not in ROLES or not password_hash.startswith("$argon2"):
            raise UserFileError(
                f"{path}:{number} is not 'name:role:argon2-hash'",
                ja=(
                    f"ログイン情報のファイル {path} の {number} 行目が「名前:役割:パスワードのハッシュ」の形式では"
                    "ありません。パスワードをそのまま書かず、`assistant user add 名前 --role admin|staff` "
                    "で登録してください。"
                ),
            )
        if name in users:
            raise UserFileError(
                f"{path}:{number} repeats user {name!r}",
                ja=f"ログイン情報のファイル {path} の {number} 行目: ユーザー「{name}」が2回書かれています。",
            )
        users[name] = User(name, role, password_hash)
    if not users:
        raise UserFileError(
            f"{path} has no user",
            ja=f"ログイン情報のファイル {path} にユーザーが1人も登録されていません。",
        )
    return users


class UserStore:
    """The logins of one auth file, read once at start-up."""

    def __init__(self, users: dict[str, User]):
        self.users = users

    @classmethod
    def load(cls, path: Path) -> UserStore:
        return cls(read_users(path))

    def verify(self, name: str, password: str) -> bool:
        user = self.users.get(name)
        try:
            return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
        except (VerificationError, InvalidHashError):
            return False

    def role(self, name: str | None) -> str | None:
        user = self.users.get(name or "")
        return user.role if user else None


def _write_users(path: Path, users: dict[str, User]) -> None:
    text = "# name:role:argon2 hash — managed with `assistant user add/remove`\n" + "".join(
        f"{u.name}:{u.role}:{u.password_hash}\n" for u in users.values()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class _Locked:
    """One writer at a time (a lock file beside the auth file)."""

    def __init__(self, path: Path):
        self.lock_path = path.with_name(path.name + ".lock")

    def __enter__(self) -> None:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.lock_path, "w")
        fcntl.flock(self.handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _existing(path: Path) -> dict[str, User]:
    if not path.exists():
        return {}
    try:
        return read_users(path)
    except UserFileError:
        if any(
            line.strip() and not line.strip().startswith("#")
            for line in path.read_text(encoding="utf-8-sig").splitlines()
        ):
            raise
        return {}


def add_user(path: Path, name: str, role: str, password: str) -> bool:
    """Add ``name`` or replace its role and password; True when the user is new."""
    if not NAME_PATTERN.fullmatch(name):
        raise AssistantError(
            f"bad user name {name!r}",
            ja="ユーザー名は空白と「:」を含まない64文字以内にしてください（先頭に「#」は使えません）。",
        )
    if role not in ROLES:
        raise AssistantError(f"bad role {role!r}", ja="役割は admin か staff を指定してください。")
    password_hash = hash_password(password)
    with _Locked(path):
        users = _existing(path)
        new = name not in users
        users[name] = User(name, role, password_hash)
        _write_users(path, users)
    return new


def remove_user(path: Path, name: str) -> None:
    with _Locked(path):
        users = _existing(path)
        if name not in users:
            raise AssistantError(f"no user {name!r}", ja=f"ユーザー「{name}」は登録されていません。")
        del users[name]
        _write_users(path, users)
