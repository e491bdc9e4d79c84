// Code tables shown by the client (mirror of api/catalog/codes.py; store codes, show names).
export const KINDS = ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "20"];
export const AUDIENCES = ["natural_person", "legal_person"];
