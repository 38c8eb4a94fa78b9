/// <reference types="vitest/config" />
import { defineConfig, searchForWorkspaceRoot } from "vite";
import react from "@vitejs/plugin-react";

// The Tauri window loads ui/dist (tauri.conf.json: build.frontendDist); `vite` alone serves the
// same UI at devUrl for `tauri dev`.
export default defineConfig({
  plugins: [react()],
  clearScreen: false,
  server: {
    port: 5173,
    strictPort: true,
    // The designer imports the catalog of action types from the model crate, outside ui/.
    fs: { allow: [searchForWorkspaceRoot(process.cwd()), "../crates/model/src/catalog"] },
  },
  build: { target: "safari15", outDir: "dist", emptyOutDir: true },
  test: { include: ["src/**/*.test.ts"] },
});
