"""The output contract's fields: studies.csv columns and the type of each figure's value.

One list serves the schema check, the tables and the evaluation, so a new field is added once.
"""
from __future__ import annotations

COUNT, NUMBER, STAT, UNIT = "count", "number", "stat", "unit"

DESCRIBED_STATS = ("age_onset", "age_diagnosis", "diagnostic_delay", "followup")

STUDY_FIELDS: dict[str, tuple[str, str]] = {
    "n_patients": (COUNT, "Patients in this study's own cohort."),
    "n_male": (COUNT, "Male patients."),
    "n_female": (COUNT, "Female patients."),
}
for _name, _what in (("age_onset", "age at disease onset"), ("age_diagnosis", "age at diagnosis"),
                     ("diagnostic_delay", "time from onset to diagnosis"), ("followup", "follow-up time")):
    STUDY_FIELDS[f"{_name}_stat"] = (STAT, f"Statistic of the {_what}: median, mean, or fixed (a design figure).")
    STUDY_FIELDS[f"{_name}_value"] = (NUMBER, f"The {_what} (median or mean).")
    STUDY_FIELDS[f"{_name}_min"] = (NUMBER, f"Lowest {_what} of the stated range (never an IQR or SD).")
    STUDY_FIELDS[f"{_name}_max"] = (NUMBER, f"Highest {_what} of the stated range (never an IQR or SD).")
    STUDY_FIELDS[f"{_name}_unit"] = (UNIT, f"Unit of the {_what}: years or months.")
STUDY_FIELDS.update({
    "n_multifocal": (COUNT, "Patients with multifocal disease (two or more lesions)."),
    "n_unifocal": (COUNT, "Patients with a single lesion."),
    "mean_lesions_per_patient": (NUMBER, "Mean number of lesions (affected sites) per patient."),
    "n_relapse": (COUNT, "Patients with at least one relapse or flare."),
})

SITE_PREFIX = "site_"
# flags: what a reviewer must know about the values (tables.study_flags); first_author and year: the
# paper's own citation (pipeline/extract/citation.py), from which study labels are made.
# record_issue: empty, or why the study's record could not be read and its rows are from its last valid version.
RECORD_ISSUE = "record_issue"
STUDY_COLUMNS = ["study_id", "source_file", *STUDY_FIELDS, "n_conflicts", "flags", "first_author", "year", RECORD_ISSUE]
OUTCOME_COLUMNS = ["study_id", "drug", "agent", "outcome", "n_responded", "n_treated", "proportion",
                   "ci_low", "ci_high", "status", "confidence", "flags", RECORD_ISSUE]
# The flag of an outcome row whose treated outnumber the cohort: courses, lesions or episodes
# counted, not patients. Such a row is left out of pooling until a curator accepts its n_treated.
NOT_PATIENTS = "n_treated exceeds the cohort"
OUTCOMES = ("clinical", "mri")


def kind(field: str) -> str | None:
    if field.startswith(SITE_PREFIX):
        return COUNT
    spec = STUDY_FIELDS.get(field)
    return spec[0] if spec else None
