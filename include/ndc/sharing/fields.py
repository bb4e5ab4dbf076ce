"""The citizen facts the lookup service serves: dictionary element -> its SQL over the
population database's ``citizen`` table (ndc.population.CITIZEN_DDL).

An ``api`` product may list only these elements (ndc.sharing.registry checks it), so every
field an agency can be entitled to is one the service can answer.
"""

from __future__ import annotations

CITIZEN_FIELDS: dict[str, str] = {
    "personal_id": "personal_id",
    "full_name": "full_name",
    "date_of_birth": "date_of_birth",
    "sex_code": "sex_code",
    "date_of_death": "date_of_death",
    "is_deceased": "date_of_death is not null",
    "cmnd": "cmnd",
    "ethnicity_code": "ethnicity_code",
    "province_code": "province_code",
    "commune_code": "commune_code",
}
