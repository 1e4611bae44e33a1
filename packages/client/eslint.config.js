import { defineConfig } from "@contacts/eslint-config";

export default [
  ...defineConfig(import.meta.dirname),
  // The committed bin shim is plain JavaScript outside the TypeScript project.
  {
    files: ["bin/*.js"],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["bin/*.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
];
