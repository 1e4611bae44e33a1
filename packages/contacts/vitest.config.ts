import { baseConfig } from "@contacts/vitest-config";
import { mergeConfig } from "vitest/config";

export default mergeConfig(baseConfig, {
  test: { globalSetup: ["./src/testing/global-setup.ts"] },
});
