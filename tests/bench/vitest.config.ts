import { defineConfig } from "vitest/config";

// The desktop benchmarks (tests/bench/desktop.sh): they print figures and assert only that the
// app did what was measured.
export default defineConfig({
  test: {
    include: ["tests/bench/**/*.bench.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
