"use client";

// Loaded only in the browser (through next/dynamic with ssr: false).
import * as monaco from "monaco-editor";
import { loader } from "@monaco-editor/react";

// Workers are bundled from the local package: no CDN.
self.MonacoEnvironment = {
  getWorker(_workerId: string, label: string) {
    switch (label) {
      case "json":
        return new Worker(new URL("monaco-editor/language/json/json.worker", import.meta.url), { type: "module" });
      default:
        return new Worker(new URL("monaco-editor/editor/editor.worker", import.meta.url), { type: "module" });
    }
  },
};

// Use the bundled monaco instead of @monaco-editor/loader's default CDN (jsdelivr).
loader.config({ monaco });

export { monaco };
