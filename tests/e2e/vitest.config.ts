import { defineConfig } from "vitest/config";

// The end-to-end suite drives the real app binary through tauri-driver; run it with
// tests/e2e/run.sh, which starts Xvfb, D-Bus, dunst and the driver first.
export default defineConfig({
  test: {
    include: ["tests/e2e/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    // Each scenario starts where the one before left the app's data: they run in order.
    sequence: { concurrent: false },
  },
});
