"""The domain's stable codes. Display names live in the i18n files under web/."""

from typing import Final

import pycountry

AGENCIES: Final = ("BIH_BP", "MNE_BP", "SRB_BP", "PCC")
CATEGORIES: Final = (
    "unauthorised_crossing",
    "migrant_smuggling",
    "trafficking_in_human_beings",
    "drug_smuggling",
    "weapons_smuggling",
    "excise_smuggling",
    "stolen_vehicle",
    "document_fraud",
    "other_crime",
    "crisis",
)
DIRECTIONS: Final = ("entry", "exit", "unknown")
DETECTIONS: Final = ("border_check", "surveillance", "inland", "other")
MEANS: Final = ("on_foot", "vehicle", "train", "boat", "other")
IMPACTS: Final = ("low", "medium", "high")
SHARINGS: Final = ("national", "pcc")
# A user's one role: the wall display (aggregates and points, no narratives or references),
# analysts (every incident the agency may see), officers (also write the agency's own),
# administrators (users, keys, reference data, impact-level overrides).
ROLES: Final = ("viewer", "analyst", "officer", "admin")
STATUSES: Final = ("open", "closed")

# H3 resolutions stored for every incident, each computed from the point itself.
H3_RESOLUTIONS: Final = (5, 6, 7, 8, 9, 10)
FINEST_H3_RESOLUTION: Final = H3_RESOLUTIONS[-1]

# ISO 3166-1 alpha-3, plus the codes travel documents use where ISO has none (ICAO 9303):
# Kosovo, stateless persons, refugees, and unspecified nationality.
NATIONALITIES: Final = frozenset(c.alpha_3 for c in pycountry.countries) | {
    "XKX",
    "XXA",
    "XXB",
    "XXC",
    "XXX",
}

EARLIEST_OCCURRENCE: Final = "2000-01-01T00:00:00+00:00"
# Ids (incidents, audit entries) are PostgreSQL bigints: none is larger.
MAX_ID: Final = 2**63 - 1
# Clocks of reporting devices drift; an occurrence this far ahead of ours is still accepted.
CLOCK_SKEW_S: Final = 300
