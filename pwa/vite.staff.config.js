// Vite config of the staff console (工作台): its own build, served at /staff/ (dist/staff), with its
// own chunks. Nothing here is in the citizen bundle or its service worker's precache, and the staff
// entry registers no service worker: the console is never cached offline.
// Element Plus components and functions (ElMessage …) are imported per use, each with its own CSS,
// by unplugin-vue-components and unplugin-auto-import; ECharts is imported per chart (echarts/core).
import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";
import vue from "@vitejs/plugin-vue";
import Components from "unplugin-vue-components/vite";
import AutoImport from "unplugin-auto-import/vite";
import { ElementPlusResolver } from "unplugin-vue-components/resolvers";
import citizen, { STAFF_CSP } from "./vite.config.js";

const API_TARGET = process.env.ZHENGWU_API || "http://127.0.0.1:8000";

const cspMeta = {
  name: "zhengwu-staff-csp",
  apply: "build",
  transformIndexHtml: (html) =>
    html.replace('<meta charset="UTF-8" />', `<meta charset="UTF-8" />\n    <meta http-equiv="Content-Security-Policy" content="${STAFF_CSP}" />`),
};

export default defineConfig({
  root: fileURLToPath(new URL("./staff", import.meta.url)),
  base: "/staff/",
  publicDir: false, // the favicon is the citizen app's (/favicon.svg)
  plugins: [
    vue(),
    cspMeta,
    AutoImport({ resolvers: [ElementPlusResolver()], dts: false }),
    Components({ resolvers: [ElementPlusResolver()], dts: false, dirs: [] }),
  ],
  define: citizen.define,
  build: {
    outDir: fileURLToPath(new URL("./dist/staff", import.meta.url)),
    emptyOutDir: true,
    target: "es2019",
    cssCodeSplit: true,
    manifest: true, // dist/staff/.vite/manifest.json: read by scripts/budget.js
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: "vue", test: /node_modules[\\/](@vue|vue|vue-router|vue-i18n|@intlify)[\\/]/ },
            { name: "echarts", test: /node_modules[\\/](echarts|zrender)[\\/]/ },
          ],
        },
      },
    },
  },
  server: {
    host: "127.0.0.1",
    port: 5174,
    fs: { allow: [fileURLToPath(new URL(".", import.meta.url))] },
    proxy: { "/api": { target: API_TARGET, changeOrigin: false } },
  },
});
