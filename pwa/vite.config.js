// Vite config of the citizen PWA. Everything is self-hosted: no CDN at run time.
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";
import Components from "unplugin-vue-components/vite";
import { VantResolver } from "@vant/auto-import-resolver";
import { VitePWA } from "vite-plugin-pwa";

const API_TARGET = process.env.ZHENGWU_API || "http://127.0.0.1:8000";

// Content-Security-Policy of the built app (a <meta>, so it holds whichever server hands out
// index.html): only our own scripts, no inline or eval'd script, API calls to our own origin.
// This is part of why the sign-in tokens may live in localStorage (see src/api.js).
// frame-ancestors cannot be set by <meta>; the server sends X-Frame-Options: DENY.
export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self' blob:", // qr-scanner's decoder worker is created from a blob: URL (Scan.vue)
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join("; ");

// The staff console's (vite.staff.config.js): the same, and PDF materials and vouchers shown in an
// <iframe> of a blob: URL (the browser's own PDF viewer).
export const STAFF_CSP = CSP.replace("object-src 'none'", "frame-src blob:; object-src 'none'");

const cspMeta = {
  name: "zhengwu-csp",
  apply: "build", // the dev server injects its own client scripts
  transformIndexHtml: (html) =>
    html.replace('<meta charset="UTF-8" />', `<meta charset="UTF-8" />\n    <meta http-equiv="Content-Security-Policy" content="${CSP}" />`),
};

export default defineConfig({
  plugins: [
    vue(),
    cspMeta,
    // Vant components used in templates are imported per component, with their own CSS only
    // (the full vant CSS does not tree-shake). Functions such as showToast are not used: elder
    // mode forbids pop-ups, and the app shows messages inline.
    Components({ resolvers: [VantResolver()], dts: false, dirs: ["src/components"] }),
    VitePWA({
      strategies: "injectManifest",
      srcDir: "src",
      filename: "sw.js",
      registerType: "prompt",
      injectRegister: false, // registered by useRegisterSW in UpdatePrompt.vue
      includeAssets: ["favicon.svg", "icons/apple-touch-icon.png"],
      injectManifest: {
        // Manifest icons and manifest.webmanifest are added by the plugin itself.
        globPatterns: ["**/*.{js,css,html}"],
        globIgnores: ["staff/**"], // the staff console (dist/staff) is never cached offline
      },
      manifest: {
        id: "/",
        name: "智慧政务 · 巴中",
        short_name: "智慧政务",
        description: "查事项、看指南、问清材料：一次办成",
        lang: "zh-CN",
        dir: "ltr",
        start_url: "/",
        scope: "/",
        display: "standalone",
        orientation: "portrait",
        theme_color: "#b71c1c",
        background_color: "#ffffff",
        categories: ["government", "utilities"],
        icons: [
          { src: "/icons/icon-192.png", sizes: "192x192", type: "image/png", purpose: "any" },
          { src: "/icons/icon-512.png", sizes: "512x512", type: "image/png", purpose: "any" },
          { src: "/icons/maskable-512.png", sizes: "512x512", type: "image/png", purpose: "maskable" },
        ],
      },
      devOptions: { enabled: false, type: "module" },
    }),
  ],
  define: {
    // Compile-time flags: no legacy/options API, no devtools in production (smaller bundle).
    __VUE_OPTIONS_API__: "false",
    __VUE_PROD_DEVTOOLS__: "false",
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: "false",
    __VUE_I18N_FULL_INSTALL__: "true",
    __VUE_I18N_LEGACY_API__: "false",
    __INTLIFY_PROD_DEVTOOLS__: "false",
  },
  build: {
    target: "es2019",
    cssCodeSplit: true,
    manifest: true, // dist/.vite/manifest.json: read by scripts/budget.js
    sourcemap: false,
    rolldownOptions: {
      output: {
        // Stable, readable vendor chunks (cached across app releases).
        codeSplitting: {
          groups: [
            { name: "vue", test: /node_modules[\\/](@vue|vue|vue-router|vue-i18n|@intlify)[\\/]/ },
            { name: "vant", test: /node_modules[\\/](vant|@vant)[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    host: "127.0.0.1",
    port: 5173,
    proxy: { "/api": { target: API_TARGET, changeOrigin: false } },
  },
  preview: {
    proxy: { "/api": { target: API_TARGET, changeOrigin: false } },
  },
  test: {
    environment: "node",
    include: ["tests/**/*.test.js"],
  },
});
