// ESLint for the pages: the recommended JavaScript and TypeScript rules, with "any" an error everywhere (the wire
// contract's types come from protocol.ts, which RailCloud.Protocol writes). Run by the README's test command.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { globals: globals.browser },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "eqeqeq": ["error", "always"],
    },
  },
  {
    files: ["*.mjs"],
    languageOptions: { globals: globals.node },
  },
);
