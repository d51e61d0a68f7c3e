"""Accounts: registration, login, roles."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from supportapp.auth.passwords import hash_password, verify_password
from supportapp.errors import Conflict, NotFound, Unauthorized
from supportapp.extensions import db
from supportapp.models import Role, User

MSG_EMAIL_TAKEN = "El email ya está registrado"
MSG_BAD_CREDENTIALS = "Credenciales inválidas"
MSG_USER_NOT_FOUND = "Usuario no encontrado"


def normalize_email(email: str) -> str:
    return email.strip()


def find_by_email(email: str) -> User | None:
    return db.session.scalar(
        select(User).where(func.lower(User.email) == normalize_email(email).lower())
    )


def get_user(user_id: uuid.UUID) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(MSG_USER_NOT_FOUND)
    return user


def register_user(*, email: str, password: str, name: str, role: Role = Role.USER) -> User:
    """Create an account; a duplicate email (in any letter case) is a 409."""
    user = User(
        email=normalize_email(email),
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict(MSG_EMAIL_TAKEN) from exc
    return user


def authenticate_user(*, email: str, password: str) -> User:
    """The same 401 for an unknown email and a wrong password."""
    user = find_by_email(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized(MSG_BAD_CREDENTIALS)
    return user


def set_role(*, email: str, role: Role) -> User:
    user = find_by_email(email)
    if user is None:
        raise NotFound(MSG_USER_NOT_FOUND)
    user.role = role
    db.session.commit()
    return user
