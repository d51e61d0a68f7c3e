"""Spanish wording for marshmallow's generic validation messages.

The API's user-facing messages are Spanish (docs/contract.md); field-specific messages are set
where the field is declared, and these cover the generic cases (wrong type, out of range,
unknown field). Applied once, when the API package is imported.
"""

from __future__ import annotations

import marshmallow as ma


def apply() -> None:
    ma.fields.Field.default_error_messages.update(
        {
            "required": "Este campo es obligatorio.",
            "null": "Este campo no puede ser nulo.",
            "validator_failed": "Valor inválido.",
        }
    )
    ma.fields.String.default_error_messages.update({"invalid": "Debe ser un texto."})
    ma.fields.Number.default_error_messages.update(
        {"invalid": "Debe ser un número.", "too_large": "El número es demasiado grande."}
    )
    ma.fields.Integer.default_error_messages.update({"invalid": "Debe ser un número entero."})
    ma.fields.Boolean.default_error_messages.update({"invalid": "Debe ser true o false."})
    ma.fields.UUID.default_error_messages.update({"invalid_uuid": "Debe ser un UUID válido."})
    ma.fields.Email.default_error_messages.update({"invalid": "Debe ser un email válido."})
    ma.fields.Dict.default_error_messages.update({"invalid": "Debe ser un objeto."})
    ma.fields.List.default_error_messages.update({"invalid": "Debe ser una lista."})
    ma.validate.Email.default_message = "Debe ser un email válido."
    ma.validate.Length.message_min = "Debe tener al menos {min} caracteres."
    ma.validate.Length.message_max = "Debe tener como máximo {max} caracteres."
    ma.validate.Length.message_all = "Debe tener entre {min} y {max} caracteres."
    ma.validate.Length.message_equal = "Debe tener exactamente {equal} caracteres."
    ma.validate.Range.message_min = "Debe ser {min_op} {{min}}."
    ma.validate.Range.message_max = "Debe ser {max_op} {{max}}."
    ma.validate.Range.message_all = "Debe estar entre {{min}} y {{max}}."
    ma.validate.Range.message_gte = "mayor o igual que"
    ma.validate.Range.message_gt = "mayor que"
    ma.validate.Range.message_lte = "menor o igual que"
    ma.validate.Range.message_lt = "menor que"
    ma.validate.OneOf.default_message = "Debe ser uno de: {choices}."
    ma.Schema._default_error_messages = {
        "type": "Tipo de dato inválido: se esperaba un objeto JSON.",
        "unknown": "Campo desconocido.",
    }
