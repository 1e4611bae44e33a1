// Shared Vitest settings: run TypeScript sources of workspace packages directly (the "source"
// export condition), so tests never need a prior build of the packages they import.
import { defaultServerConditions } from "vite";
import { defineConfig } from "vitest/config";

export const baseConfig = defineConfig({
  resolve: { conditions: ["source", ...defaultServerConditions] },
  ssr: { resolve: { conditions: ["source", ...defaultServerConditions] } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
