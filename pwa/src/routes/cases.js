// Routes of the cases screens (kept in their own module so each area owns its file). All lazy:
// the scanner (and qr-scanner behind it) never weighs on the home page.
export default [
  // meta.auth: signed-in citizens only (guard.js sends others to sign-in and back).
  { path: "/cases", name: "cases", component: () => import("../views/MyCases.vue"), meta: { auth: true } },
  {
    path: "/cases/:id(\\d+)",
    name: "case",
    component: () => import("../views/CaseDetail.vue"),
    props: (route) => ({ id: Number(route.params.id) }),
    meta: { auth: true },
  },
  // Public: the receipt's QR code opens /track?number=…&code=… (api/cases/controllers.py _tracking_url).
  { path: "/track", name: "track", component: () => import("../views/Track.vue") },
  { path: "/scan", name: "scan", component: () => import("../views/Scan.vue") },
];
