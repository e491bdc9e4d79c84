// Routes of the apply screens (kept in their own module so each area owns its file). All lazy,
// and with them tus-js-client and idb: nothing of applying weighs on the home page.
// meta.auth: signed-in citizens only (guard.js sends others to sign-in and back; vue-router merges
// a parent's meta into its children).
export default [
  // Start (or continue) an application for an item with the answers given to its questions.
  { path: "/items/:code/apply", name: "apply-start", component: () => import("../views/ApplyStart.vue"), props: true, meta: { auth: true } },
  // Continue a server draft found elsewhere (my cases): /apply/<case id> adopts it on this phone.
  {
    path: "/apply/:caseId(\\d+)",
    name: "apply-case",
    component: () => import("../views/ApplyStart.vue"),
    props: (route) => ({ caseId: Number(route.params.caseId) }),
    meta: { auth: true },
  },
  // A draft on this phone (its local id): form → materials → check, sharing one sync engine.
  {
    path: "/apply/:id",
    component: () => import("../views/ApplyShell.vue"),
    props: true,
    meta: { auth: true },
    children: [
      { path: "", name: "apply-form", component: () => import("../views/ApplyForm.vue") },
      { path: "materials", name: "apply-materials", component: () => import("../views/ApplyMaterials.vue") },
      { path: "check", name: "apply-check", component: () => import("../views/ApplyCheck.vue") },
    ],
  },
  {
    path: "/receipt/:caseId(\\d+)",
    name: "receipt",
    component: () => import("../views/Receipt.vue"),
    props: (route) => ({ caseId: Number(route.params.caseId) }),
    meta: { auth: true },
  },
];
