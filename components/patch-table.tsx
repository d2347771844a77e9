import Link from "next/link";
import { StatusBadge } from "./status-badge";

export interface PatchRow {
  id: number;
  title: string;
  program: string;
  base: string;
  target: string;
  status: string;
  state: string | null;
  revision: number | null;
  author: string;
}

export function PatchTable({ patches }: { patches: PatchRow[] }) {
  return (
    <table data-testid="patches">
      <thead>
        <tr><th>#</th><th>Title</th><th>Program</th><th>From → to</th><th>Generation</th><th>Review</th><th>Author</th></tr>
      </thead>
      <tbody>
        {patches.map((p) => (
          <tr key={p.id}>
            <td>{p.id}</td>
            <td><Link href={`/patches/${p.id}`}>{p.title}</Link></td>
            <td>{p.program}</td>
            <td>{p.base} → {p.target}</td>
            <td><StatusBadge status={p.status} /></td>
            <td>{p.state ? <><StatusBadge status={p.state} /> r{p.revision}</> : "—"}</td>
            <td>{p.author}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
