// Shared Vitest settings. Tests run the TypeScript sources of workspace packages directly, so they
// never need a prior build: `@contacts/<pkg>/<path>` resolves to that package's `src/<path>.ts`
// (the same mapping as the packages' "source" export condition).
import fs from "node:fs";
import path from "node:path";

import { defineConfig } from "vitest/config";

const repoRoot = path.resolve(import.meta.dirname, "../..");
const workspaceSources = Object.fromEntries(
  ["apps", "packages"].flatMap((group) =>
    fs
      .readdirSync(path.join(repoRoot, group))
      .filter((dir) => fs.existsSync(path.join(repoRoot, group, dir, "package.json")))
      .map((dir) => [dir, path.join(repoRoot, group, dir, "src")]),
  ),
);

export const baseConfig = defineConfig({
  resolve: {
    alias: Object.entries(workspaceSources).map(([name, src]) => ({
      find: new RegExp(`^@contacts/${name}/(.*)$`),
      replacement: `${src}/$1.ts`,
    })),
  },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
