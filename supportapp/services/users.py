"""Accounts: registration, login, roles, guest visitors and identities vouched for by the host
site (an external token issuer, or identify's HMAC)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid

import redis
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError

from supportapp.auth import blocklist
from supportapp.auth.passwords import hash_password, verify_password
from supportapp.errors import Conflict, DomainError, Forbidden, NotFound, Unauthorized
from supportapp.extensions import db
from supportapp.models import Role, User
from supportapp.models.base import utcnow

MSG_EMAIL_TAKEN = "El email ya está registrado"
MSG_BAD_CREDENTIALS = "Credenciales inválidas"
MSG_USER_NOT_FOUND = "Usuario no encontrado"
MSG_ALREADY_REGISTERED = "Esta cuenta ya está registrada"
MSG_IDENTIFY_DISABLED = "La verificación de identidad no está configurada en este servicio"
MSG_BAD_USER_HASH = "La verificación de identidad no es válida"

GUEST_NAME = "Visitante"
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes
MSG_REVOCATION_UNAVAILABLE = (
    "No se pudieron revocar los tokens: servicio no disponible. Intenta de nuevo en unos segundos"
)

log = logging.getLogger(__name__)


def normalize_email(email: str) -> str:
    return email.strip()


def short_code(length: int = 5) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def find_by_email(email: str) -> User | None:
    """The password account with this email (emails identify only accounts that sign in)."""
    return db.session.scalar(
        select(User).where(
            func.lower(User.email) == normalize_email(email).lower(),
            User.password_hash.is_not(None),
        )
    )


def get_signed_in_user(user_id: uuid.UUID | None) -> User:
    """The user a valid token speaks for; an erased or deleted user is a 401."""
    user = db.session.get(User, user_id) if user_id else None
    if user is None or user.erased_at is not None:
        raise Unauthorized()
    return user


def touch(user: User) -> None:
    """Record activity (tokens issued): guest cleanup keeps active guests."""
    user.last_active_at = utcnow()
    db.session.commit()


def register_user(*, email: str, password: str, name: str, role: Role = Role.USER) -> User:
    """Create an account; a duplicate email (in any letter case) is a 409."""
    user = User(
        email=normalize_email(email),
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
        last_active_at=utcnow(),
    )
    db.session.add(user)
    _commit_or_email_taken()
    return user


def upgrade_guest(user_id: uuid.UUID, *, email: str, password: str, name: str) -> User:
    """A guest becomes a full account: same id, same sessions; 409 if the email is taken or
    the token's user is already registered."""
    user = db.session.scalar(select(User).where(User.id == user_id).with_for_update())
    if user is None or user.erased_at is not None:
        raise Unauthorized()
    if not user.is_guest:
        raise Conflict(MSG_ALREADY_REGISTERED)
    user.email = normalize_email(email)
    user.name = name.strip()
    user.password_hash = hash_password(password)
    user.is_guest = False
    user.last_active_at = utcnow()
    _commit_or_email_taken()
    return user


def _commit_or_email_taken() -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(MSG_EMAIL_TAKEN) from exc


def create_guest(*, name: str | None = None, email: str | None = None) -> User:
    """An anonymous visitor: role `user`, no password, a "Visitante XXXXX" name by default."""
    user = User(
        name=name or f"{GUEST_NAME} {short_code()}",
        email=normalize_email(email) if email else None,
        role=Role.USER,
        is_guest=True,
        last_active_at=utcnow(),
    )
    db.session.add(user)
    db.session.commit()
    return user


def authenticate_user(*, email: str, password: str) -> User:
    """The same 401 for an unknown email and a wrong password."""
    user = find_by_email(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized(MSG_BAD_CREDENTIALS)
    user.last_active_at = utcnow()
    db.session.commit()
    return user


def set_role(*, email: str, role: Role) -> User:
    """Change a user's role; the tokens issued before carry the old role, so they are revoked
    (and the user's WebSockets closed). Raises RevocationFailed when Redis could not record
    that: the role is changed all the same, old tokens keep working until they expire."""
    user = find_by_email(email)
    if user is None:
        raise NotFound(MSG_USER_NOT_FOUND)
    changed = user.role != role
    user.role = role
    db.session.commit()
    if changed:
        revoke_tokens_of(user.id, "role changed")
    return user


# --- identities from the host site -------------------------------------------------------------


def user_hash(secret: str, external_id: str) -> str:
    """What the host site sends as `userHash`: HMAC-SHA256(IDENTITY_SECRET, externalId), hex."""
    return hmac.new(secret.encode(), external_id.encode(), hashlib.sha256).hexdigest()


def identify(
    secret: str | None,
    *,
    external_id: str,
    given_hash: str,
    name: str | None = None,
    email: str | None = None,
) -> User:
    """The user linked to the host site's `external_id`, created on first use, once the
    host site's HMAC proves the id is theirs (compared in constant time)."""
    if not secret:
        raise Forbidden(MSG_IDENTIFY_DISABLED)
    expected = user_hash(secret, external_id).encode()
    if not hmac.compare_digest(expected, given_hash.strip().lower().encode()):
        raise Unauthorized(MSG_BAD_USER_HASH)
    user_id = ensure_external_user(external_id, role=Role.USER, email=email, name=name)
    user = db.session.get(User, user_id)
    if name:
        user.name = name
    if email:
        user.email = normalize_email(email)
    user.last_active_at = utcnow()
    db.session.commit()
    return user


def ensure_external_user(
    external_id: str, *, role: Role, email: str | None, name: str | None
) -> uuid.UUID:
    """The id of the user linked to `external_id`, inserting it the first time.

    Concurrent first uses all run the same INSERT … ON CONFLICT DO NOTHING: exactly one row is
    written, the others see none returned and read the winner's row (READ COMMITTED sees it
    once the winner commits, which the conflicting INSERT waited for)."""
    found = db.session.scalar(select(User.id).where(User.external_id == external_id))
    if found is not None:
        return found
    new_id = _id_for_subject(external_id)
    statement = (
        insert(User)
        .values(
            id=new_id,
            external_id=external_id,
            email=normalize_email(email) if email else None,
            name=name or f"{GUEST_NAME} {short_code()}",
            role=role,
            is_guest=False,
            last_active_at=utcnow(),
        )
        .on_conflict_do_nothing()
        .returning(User.id)
    )
    inserted = db.session.scalar(statement)
    db.session.commit()
    if inserted is not None:
        return inserted
    found = db.session.scalar(select(User.id).where(User.external_id == external_id))
    if found is None:  # the conflict was on the id: a UUID subject already used by another user
        raise Unauthorized()
    return found


def _id_for_subject(subject: str) -> uuid.UUID:
    """A UUID subject becomes the user id itself (so `sub` is the user id, as before), unless a
    user already has that id; anything else gets a fresh id."""
    try:
        candidate = uuid.UUID(subject)
    except ValueError:
        return uuid.uuid4()
    return uuid.uuid4() if db.session.get(User, candidate) is not None else candidate


def user_id_for_external_subject(
    subject: str, *, role: Role, email: str | None, name: str | None
) -> uuid.UUID:
    """External-issuer mode: the user a token's `sub` speaks for, provisioned on first use.

    A `sub` that is the id of a user this service already holds (one without a host-site
    link, e.g. staff created with `flask users create`) is that user. After an erasure the
    subject's earlier tokens are revoked (auth/blocklist.py) and a later one starts afresh."""
    found = db.session.scalar(select(User.id).where(User.external_id == subject))
    if found is not None:
        return found
    try:
        as_id = uuid.UUID(subject)
    except ValueError:
        as_id = None
    if as_id is not None:
        existing = db.session.execute(
            select(User.external_id, User.erased_at).where(User.id == as_id)
        ).first()
        if existing is not None and existing.external_id is None and existing.erased_at is None:
            return as_id
    return ensure_external_user(subject, role=role, email=email, name=name)


class RevocationFailed(DomainError):
    status = 503

    def __init__(self) -> None:
        super().__init__(MSG_REVOCATION_UNAVAILABLE)


def revoke_tokens_of(user_id: uuid.UUID, reason: str) -> None:
    """Every token of the user issued until now stops working, everywhere."""
    try:
        blocklist.revoke_user(user_id, reason)
    except redis.RedisError as exc:
        log.error("could not revoke the tokens of user %s (%s)", user_id, reason, exc_info=True)
        raise RevocationFailed() from exc


def log_out(claims: dict) -> None:
    """Revoke the login the presented token belongs to (both tokens of the pair)."""
    try:
        blocklist.revoke_login(claims)
    except redis.RedisError as exc:
        log.error("could not record a logout", exc_info=True)
        raise RevocationFailed() from exc


def log_out_everywhere(user_id: uuid.UUID) -> None:
    revoke_tokens_of(user_id, "logout-all")
