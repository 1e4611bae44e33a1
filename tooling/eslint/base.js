// Shared ESLint flat config: typescript-eslint type-checked rules + Prettier compatibility.
import js from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

/** @param {string} tsconfigRootDir the package directory (import.meta.dirname) */
export function defineConfig(tsconfigRootDir) {
  return tseslint.config(
    { ignores: ["dist/**", "coverage/**", "*.config.*", "eslint.config.js"] },
    js.configs.recommended,
    ...tseslint.configs.strictTypeChecked,
    ...tseslint.configs.stylisticTypeChecked,
    {
      languageOptions: { parserOptions: { projectService: true, tsconfigRootDir } },
      rules: {
        "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "separate-type-imports" }],
        "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
        "@typescript-eslint/no-confusing-void-expression": "off",
        "@typescript-eslint/no-unnecessary-condition": ["error", { allowConstantLoopConditions: true }],
        // `value || fallback` on strings deliberately treats "" as unset (environment variables).
        "@typescript-eslint/prefer-nullish-coalescing": ["error", { ignorePrimitives: { string: true } }],
        // Flags every static factory (MikroORM.init returns a subclass instance it built itself).
        "@typescript-eslint/no-unsafe-class-instance-assignment": "off",
      },
    },
    prettier,
  );
}
