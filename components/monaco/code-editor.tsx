"use client";

import { useEffect, useRef } from "react";
import Editor, { type OnMount } from "@monaco-editor/react";
import { monaco } from "./monaco-env";

export interface EditorMarker {
  line: number;
  column?: number;
  message: string;
  severity: "error" | "warning" | "info";
}

type Editor = Parameters<OnMount>[0];

/** A C editor whose markers are set from diagnostics (e.g. gcc's, from "Check"). */
export default function CodeEditor(props: { value: string; onChange?: (v: string) => void; markers?: EditorMarker[]; readOnly?: boolean; height?: number; testId?: string }) {
  const editorRef = useRef<Editor | null>(null);
  const shownKey = useRef("");
  const { markers } = props;
  const applyMarkers = (ed: Editor | null) => {
    const model = ed?.getModel();
    if (!model) return;
    monaco.editor.setModelMarkers(
      model,
      "graft",
      (markers ?? []).map((m) => ({
        startLineNumber: m.line,
        startColumn: m.column ?? 1,
        endLineNumber: m.line,
        endColumn: m.column ? m.column + 1 : model.getLineMaxColumn(Math.min(Math.max(m.line, 1), model.getLineCount())),
        message: m.message,
        severity: m.severity === "error" ? monaco.MarkerSeverity.Error : m.severity === "warning" ? monaco.MarkerSeverity.Warning : monaco.MarkerSeverity.Info,
      })),
    );
    // New diagnostics: bring the first one into view.
    const key = JSON.stringify(markers ?? []);
    if (ed && key !== shownKey.current) {
      shownKey.current = key;
      const first = (markers ?? []).find((m) => m.severity === "error") ?? markers?.[0];
      if (first) ed.revealLineInCenter(first.line);
    }
  };
  useEffect(() => applyMarkers(editorRef.current));
  const onMount: OnMount = (editor) => {
    editorRef.current = editor;
    // For tests and debugging: the editor and the markers it shows.
    const w = window as unknown as { __graftEditors?: Record<string, unknown>; __graftMarkers?: () => unknown[] };
    w.__graftEditors = { ...(w.__graftEditors ?? {}), [props.testId ?? "editor"]: editor };
    w.__graftMarkers = () => monaco.editor.getModelMarkers({ owner: "graft" });
    applyMarkers(editor);
  };
  return (
    <div data-testid={props.testId}>
      <Editor
        height={`${props.height ?? 420}px`}
        defaultLanguage="c"
        defaultValue={props.value}
        onChange={(v) => props.onChange?.(v ?? "")}
        onMount={onMount}
        options={{ readOnly: props.readOnly, minimap: { enabled: false }, automaticLayout: true, scrollBeyondLastLine: false, glyphMargin: true }}
      />
    </div>
  );
}
