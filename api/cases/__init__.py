"""Online applications (办件): drafts with the exact checklist, materials, submission, receipt, tracking."""
