// Routes of the cases screens (kept in their own module so each area owns its file).
export default [];
