"""Identity: citizens (phone + one-time code, real name), enterprises, staff, tokens, access."""
