"""Vendor profiles: which FHIR identifiers, code systems and resources, and which HL7 v2 fields and
segments, a given EHR uses for what cutis reads. Data, not code: one TOML file a vendor in this
folder, read by `server.ehr.profile`; `generic.toml` is the mapping cutis used before profiles."""
