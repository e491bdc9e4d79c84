// The console's menus from the signed-in staff member's role. The supervision and statistics
// screens and the ratings come with their APIs (other issues); they are not listed until then.

export const MENUS = {
  clerk: ["queue", "walkIn"],
  officer: ["queue"],
  approver: ["queue"],
  supervisor: ["queue"],
  admin: ["items", "import", "organisation", "staff", "calendar", "audit"],
};

export const ROUTES = {
  queue: "/queue",
  walkIn: "/walk-in",
  items: "/admin/items",
  import: "/admin/import",
  organisation: "/admin/organisation",
  staff: "/admin/staff",
  calendar: "/admin/calendar",
  audit: "/admin/audit",
};

export const menusFor = (role) => (MENUS[role] || []).map((key) => ({ key, path: ROUTES[key] }));

/** Where a role starts after sign-in. */
export const homeOf = (role) => ROUTES[(MENUS[role] || [])[0]] || "/login";

/** Whether a route (its meta.roles) is open to a role. */
export const allowed = (meta, role) => !meta?.roles || meta.roles.includes(role);
