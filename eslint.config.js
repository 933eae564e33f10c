import js from "@eslint/js";
import tseslint from "typescript-eslint";

const nodeGlobals = Object.fromEntries(
  ["process", "console", "Buffer", "URL", "setTimeout", "clearTimeout", "setInterval", "clearInterval"].map(
    (g) => [g, "readonly"],
  ),
);
const browserGlobals = Object.fromEntries(
  [
    "window",
    "document",
    "console",
    "fetch",
    "FormData",
    "FileReader",
    "Image",
    "URL",
    "sessionStorage",
    "localStorage",
    "ResizeObserver",
    "requestAnimationFrame",
    "setTimeout",
    "clearTimeout",
    "HTMLElement",
    "Blob",
    "AbortController",
    "navigator",
    "location",
    "Option",
    "URLSearchParams",
    "HTMLCanvasElement",
    "Node",
    "performance",
    "DataTransfer",
    "Event",
    "CustomEvent",
    "atob",
    "btoa",
    "getComputedStyle",
  ].map((g) => [g, "readonly"]),
);

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["warn", { argsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "off",
    },
  },
  {
    files: ["bin/**/*.js", "scripts/**/*.mjs", "eslint.config.js"],
    languageOptions: { globals: nodeGlobals },
  },
  { files: ["web/**/*.js"], languageOptions: { globals: browserGlobals, sourceType: "script" } },
);
