"use client";

import { DiffEditor } from "@monaco-editor/react";
import "./monaco-env";

/** Old and new text side by side (read-only). */
export default function DiffView({ original, modified, height = 320 }: { original: string; modified: string; height?: number }) {
  return (
    <DiffEditor
      height={`${height}px`}
      language="c"
      original={original}
      modified={modified}
      options={{ readOnly: true, renderSideBySide: true, minimap: { enabled: false }, automaticLayout: true, scrollBeyondLastLine: false, originalEditable: false }}
    />
  );
}
