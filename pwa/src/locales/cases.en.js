// en texts of the cases screens; top-level keys must not clash with the other locale modules.
export default {};
