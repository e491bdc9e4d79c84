// Routes of a case to its end, certificates and 一件事一次办 (their own module, as each area's).
// All lazy. meta.auth: signed-in citizens only (guard.js sends others to sign-in and back).
const byId = (route) => ({ id: Number(route.params.id) });

export default [
  { path: "/cases/:id(\\d+)/correction", name: "correction", component: () => import("../views/Correction.vue"), props: byId, meta: { auth: true } },
  { path: "/certificates", name: "certificates", component: () => import("../views/Certificates.vue"), meta: { auth: true } },
  { path: "/data-access", name: "data-access", component: () => import("../views/DataAccess.vue"), meta: { auth: true } },
  // Public: a certificate's QR code opens /verify?type=…&number=…&code=… (api/certificates/services.py verify_url).
  { path: "/verify", name: "verify", component: () => import("../views/Verify.vue") },
  // The questions and the combined list need no sign-in; creating the bundle does (the page asks).
  { path: "/life-events/:code/bundle", name: "bundle-start", component: () => import("../views/BundleStart.vue"), props: true },
  { path: "/bundles/:id(\\d+)", name: "bundle", component: () => import("../views/Bundle.vue"), props: byId, meta: { auth: true } },
];
