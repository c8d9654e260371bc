"""The order pipeline shared by the order-select and order-sign services (issue 20).

request -> lenient draft reader -> prefetch (optional keys) -> patient facts -> order rules
-> order cards. It sits beside the patient-view pipeline and shares its terminology, prefetch
classification and FHIR fallback, but not its records stage: draft orders arrive
non-conformant (the public sandbox's do) and must never be dropped for that.
"""
