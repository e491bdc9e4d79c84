import { createRouter, createWebHistory } from "vue-router";
import { allowed } from "./menus.js";
import Login from "./views/Login.vue";
import Queue from "./views/Queue.vue";

const STAFF = ["clerk", "officer", "approver", "supervisor"];
const ADMIN = ["admin"];

export const routes = [
  { path: "/", redirect: "/queue" },
  { path: "/login", name: "login", component: Login, meta: { public: true } },
  // The queue is in the entry chunk: it is the first screen of the day for most staff.
  { path: "/queue", name: "queue", component: Queue, meta: { roles: STAFF } },
  { path: "/cases/:id(\\d+)", name: "case", component: () => import("./views/CaseView.vue"), meta: { roles: STAFF } },
  { path: "/walk-in", name: "walkIn", component: () => import("./views/WalkIn.vue"), meta: { roles: ["clerk"] } },
  { path: "/admin/items", name: "items", component: () => import("./admin/Items.vue"), meta: { roles: ADMIN } },
  { path: "/admin/items/:code", name: "itemEditor", component: () => import("./admin/ItemEditor.vue"), meta: { roles: ADMIN } },
  { path: "/admin/import", name: "import", component: () => import("./admin/Import.vue"), meta: { roles: ADMIN } },
  { path: "/admin/organisation", name: "organisation", component: () => import("./admin/Organisation.vue"), meta: { roles: ADMIN } },
  { path: "/admin/staff", name: "staff", component: () => import("./admin/Staff.vue"), meta: { roles: ADMIN } },
  { path: "/admin/calendar", name: "calendar", component: () => import("./admin/Calendar.vue"), meta: { roles: ADMIN } },
  { path: "/admin/audit", name: "audit", component: () => import("./admin/Audit.vue"), meta: { roles: ADMIN } },
  { path: "/:rest(.*)*", name: "notFound", component: () => import("./views/NotFound.vue"), meta: { roles: null } },
];

export function makeRouter(session) {
  const router = createRouter({ history: createWebHistory("/staff/"), routes });
  router.beforeEach(async (to) => {
    if (to.meta.public) return true;
    let me = null;
    try {
      me = await session.load();
    } catch {
      me = null;
    }
    if (!me) return { name: "login", query: { redirect: to.fullPath } };
    if (to.path === "/queue" && !allowed(to.meta, me.role)) return session.home();
    if (!allowed(to.meta, me.role)) return { name: "notFound", params: { rest: to.path.slice(1).split("/") } };
    return true;
  });
  return router;
}
