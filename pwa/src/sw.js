// Service worker (vite-plugin-pwa injectManifest). Precaches the app shell; keeps the catalog
// answers a citizen has seen so that guides open offline; never caches anything but GET.
// Later issues add push/notificationclick handlers here.
import { precacheAndRoute, cleanupOutdatedCaches, createHandlerBoundToURL } from "workbox-precaching";
import { registerRoute, NavigationRoute } from "workbox-routing";
import { NetworkFirst } from "workbox-strategies";
import { ExpirationPlugin } from "workbox-expiration";
import { CacheableResponsePlugin } from "workbox-cacheable-response";
import { clientsClaim } from "workbox-core";

// registerType "prompt": a new worker waits until the page asks it to take over.
self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
});
clientsClaim();

precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

// History-mode routes: every navigation outside /api gets the precached app shell.
registerRoute(new NavigationRoute(createHandlerBoundToURL("/index.html"), { denylist: [/^\/api\//, /^\/schema/, /^\/staff(\/|$)/] }));

const CATALOG_PATHS = [/^\/api\/v1\/items(\/|$)/, /^\/api\/v1\/life-events(\/|$)/, /^\/api\/v1\/departments$/, /^\/api\/v1\/regions$/];

// The staff console (/staff/, same origin, so inside this worker's scope) is never served from
// this worker's caches: its requests (its referrer is a /staff/ page) go to the network as they are.
const fromStaffConsole = (request) => /^https?:\/\/[^/]+\/staff(\/|$)/.test(request.referrer || "");

export function isCatalogRead({ url, request }) {
  return (
    request.method === "GET" &&
    url.origin === self.location.origin &&
    CATALOG_PATHS.some((re) => re.test(url.pathname)) &&
    !fromStaffConsole(request)
  );
}

// Fresh when the network answers within 4 s, else the copy seen before (weak connections).
registerRoute(
  isCatalogRead,
  new NetworkFirst({
    cacheName: "zw-catalog-v1",
    networkTimeoutSeconds: 4,
    plugins: [
      new CacheableResponsePlugin({ statuses: [200] }),
      new ExpirationPlugin({ maxEntries: 400, maxAgeSeconds: 30 * 24 * 3600, purgeOnQuotaError: true }),
    ],
  }),
  "GET",
);
