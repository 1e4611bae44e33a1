// Shared Vitest settings: run TypeScript sources of workspace packages directly (the "source"
// export condition), so tests never need a prior build of the packages they import.
import { defineConfig } from "vitest/config";

const conditions = ["source", "import", "module", "node", "default"];

export const baseConfig = defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: conditions } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    
  },
});
