// zh-CN texts of the apply screens; top-level keys must not clash with the other locale modules.
export default {};
