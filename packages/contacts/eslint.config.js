import { defineConfig } from "@contacts/eslint-config";

export default defineConfig(import.meta.dirname);
