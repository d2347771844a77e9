"use client";

import { useState } from "react";
import { DiffView } from "../monaco";

export interface FunctionDiffItem {
  uname: string;
  name: string;
  file: string;
  status: string;
  note?: string;
  oldSignature?: string;
  newSignature?: string;
  oldSource: string;
  newSource: string;
}

/** Each changed function side by side; opened one at a time to keep the page light. */
export function FunctionDiffs({ functions }: { functions: FunctionDiffItem[] }) {
  const [open, setOpen] = useState<string | null>(functions[0]?.uname ?? null);
  return (
    <div data-testid="function-diffs">
      {functions.map((f) => (
        <div key={f.uname} className="card" data-function={f.name} style={{ padding: 10 }}>
          <div className="row">
            <button type="button" className="secondary" onClick={() => setOpen(open === f.uname ? null : f.uname)} aria-expanded={open === f.uname}>
              {open === f.uname ? "▾" : "▸"} {f.name}
            </button>
            <span className={`badge ${f.status}`}>{f.status}</span>
            <span className="muted mono">{f.file}</span>
            {f.note && <span className="muted">{f.note}</span>}
            {f.oldSignature && f.newSignature && f.oldSignature !== f.newSignature && (
              <span className="mono">{f.oldSignature} → {f.newSignature}</span>
            )}
          </div>
          {open === f.uname && (
            <div style={{ marginTop: 8 }}>
              <DiffView original={f.oldSource} modified={f.newSource} height={Math.min(600, 40 + 19 * Math.max(f.oldSource.split("\n").length, f.newSource.split("\n").length))} />
            </div>
          )}
        </div>
      ))}
    </div>
  );
}
