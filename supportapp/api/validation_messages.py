"""Spanish wording for marshmallow's generic validation messages.

The API's user-facing messages are Spanish (docs/contract.md); field-specific messages are set
where the field is declared, and these cover the generic cases (wrong type, out of range,
unknown field). `create_app` applies them before it imports any schema module; code that
declares schemas without an app (the test suite's conftest) calls `apply()` first itself.
"""

from __future__ import annotations

import marshmallow as ma

# Class attributes holding a message, per class.
_MESSAGES: dict[type, dict[str, str]] = {
    ma.validate.Email: {"default_message": "Debe ser un email válido."},
    ma.validate.Length: {
        "message_min": "Debe tener al menos {min} caracteres.",
        "message_max": "Debe tener como máximo {max} caracteres.",
        "message_all": "Debe tener entre {min} y {max} caracteres.",
        "message_equal": "Debe tener exactamente {equal} caracteres.",
    },
    ma.validate.Range: {
        "message_min": "Debe ser {min_op} {{min}}.",
        "message_max": "Debe ser {max_op} {{max}}.",
        "message_all": "Debe estar entre {{min}} y {{max}}.",
        "message_gte": "mayor o igual que",
        "message_gt": "mayor que",
        "message_lte": "menor o igual que",
        "message_lt": "menor que",
    },
    ma.validate.OneOf: {"default_message": "Debe ser uno de: {choices}."},
}
# Each field class's `default_error_messages`, by key.
_FIELD_MESSAGES: dict[type, dict[str, str]] = {
    ma.fields.Field: {
        "required": "Este campo es obligatorio.",
        "null": "Este campo no puede ser nulo.",
        "validator_failed": "Valor inválido.",
    },
    ma.fields.String: {"invalid": "Debe ser un texto."},
    ma.fields.Number: {
        "invalid": "Debe ser un número.",
        "too_large": "El número es demasiado grande.",
    },
    ma.fields.Integer: {"invalid": "Debe ser un número entero."},
    ma.fields.Boolean: {"invalid": "Debe ser true o false."},
    ma.fields.UUID: {"invalid_uuid": "Debe ser un UUID válido."},
    ma.fields.Email: {"invalid": "Debe ser un email válido."},
    ma.fields.Dict: {"invalid": "Debe ser un objeto."},
    ma.fields.List: {"invalid": "Debe ser una lista."},
}
_SCHEMA_MESSAGES = {
    "type": "Tipo de dato inválido: se esperaba un objeto JSON.",
    "unknown": "Campo desconocido.",
}


def apply() -> None:
    for field_class, messages in _FIELD_MESSAGES.items():
        field_class.default_error_messages.update(messages)
    for validator, attributes in _MESSAGES.items():
        for name, message in attributes.items():
            setattr(validator, name, message)
    ma.Schema._default_error_messages = dict(_SCHEMA_MESSAGES)
