import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      ".next/",
      "generated/",
      "native/",
      "test-results/",
      "playwright-report/",
      ".graft-work/",
      "bench/results/",
      "next-env.d.ts",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
    },
  },
  {
    files: ["app/**/*.tsx", "components/**/*.tsx"],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // Components get DTO props; they never reach into the data layer.
    files: ["components/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/lib/server/**", "@/lib/server/**", "**/generated/prisma/**"], message: "components receive DTO props; read data in a server component or action" }] },
      ],
    },
  },
);
