"use client";

import dynamic from "next/dynamic";

const loading = () => <div className="muted" style={{ padding: 12 }}>Loading editor…</div>;

/** Monaco only runs in the browser. */
export const DiffView = dynamic(() => import("./diff-view"), { ssr: false, loading });
export const CodeEditor = dynamic(() => import("./code-editor"), { ssr: false, loading });
export type { EditorMarker } from "./code-editor";
